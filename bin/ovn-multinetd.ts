/**
 * Entry point of `ovn-multinetd`: the node daemon, the Network controller and the command-line
 * tool. The CNI executable a runtime spawns is `ovn-multinet`, the Go front end in cni/.
 * An error of the catalogue is a failure the command foresaw: its message (and details) on
 * stderr; anything else is a bug: its stack. The exit code says which kind (docs/operations.md).
 */
import { runCli } from '../daemon/cli.ts';
import { OvnMultinetError } from '../daemon/errors.ts';
import { exitCodeOf } from '../daemon/ops/output.ts';

runCli(process.argv).catch((err: unknown) => {
  const text = err instanceof OvnMultinetError ? `${err.message}${err.details === undefined ? '' : ` (${err.details})`}` : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`ovn-multinetd: ${text}\n`);
  process.exitCode = exitCodeOf(err);
});
