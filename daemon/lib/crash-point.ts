/**
 * Fault injection for crash-safety tests: with OVN_MULTINET_CRASH_AFTER=<step> in its
 * environment, the daemon kills itself (SIGKILL, no cleanup) right after that step of ADD, so a
 * test can check that the runtime's retried ADD, or a DEL, recovers from a crash at that point.
 * Steps: logical-port, veth, pod-interface, ovs-port. Unset in production: a no-op.
 */
const crashAfter = process.env['OVN_MULTINET_CRASH_AFTER'];

export function crashPoint(step: 'logical-port' | 'veth' | 'pod-interface' | 'ovs-port'): void {
  if (step === crashAfter) process.kill(process.pid, 'SIGKILL');
}
