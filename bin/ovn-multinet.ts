/**
 * Entry point of the `ovn-multinet` executable. With CNI_COMMAND set it is the CNI plugin and
 * loads only cni/, which keeps every CNI call's start-up short. Otherwise it is the command-line
 * tool (daemon and friends), loaded on demand: from source, or in the single executable from the
 * bundle it carries as an asset.
 */
interface Cli {
  runCli(argv: string[]): Promise<void>;
}

async function loadCli(): Promise<Cli> {
  const { loadBundledScript } = await import('../daemon/lib/addons.ts');
  return (loadBundledScript('daemon.cjs') as Cli | undefined) ?? (await import('../daemon/cli.ts'));
}

async function main(): Promise<void> {
  if (process.env['CNI_COMMAND'] !== undefined) {
    const { runCni, processIo } = await import('../cni/main.ts');
    // stdout is written synchronously (files and pipes on Linux): exit at once, skipping the
    // event loop's wind-down that a short-lived plugin call does not need.
    process.exit(await runCni(processIo()));
  }
  const { runCli } = await loadCli();
  await runCli(process.argv);
}

main().catch((err: unknown) => {
  process.stderr.write(`ovn-multinet: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
