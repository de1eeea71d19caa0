/**
 * Entry point of `ovn-multinetd`: the node daemon, the Network controller and the command-line
 * tool. The CNI executable a runtime spawns is `ovn-multinet`, the Go front end in cni/.
 */
import { runCli } from '../daemon/cli.ts';

runCli(process.argv).catch((err: unknown) => {
  process.stderr.write(`ovn-multinetd: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
