/**
 * Entry point of the `ovn-multinet` executable. With CNI_COMMAND set it is the CNI plugin and
 * loads only cni/; otherwise it is the command-line tool (daemon and friends), loaded lazily.
 */
async function main(): Promise<void> {
  if (process.env['CNI_COMMAND'] !== undefined) {
    const { runCni, processIo } = await import('../cni/main.ts');
    process.exitCode = await runCni(processIo());
    return;
  }
  const { runCli } = await import('../daemon/cli.ts');
  await runCli(process.argv);
}

main().catch((err: unknown) => {
  process.stderr.write(`ovn-multinet: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
