import { DeadlineExceededError } from '../errors.ts';

/**
 * A deadline for one piece of work. Unlike AbortSignal.timeout, the timer is cleared as soon as
 * the work ends, so the signal, its listeners and everything they hold are released then, not
 * when the timeout would have fired (two minutes later for a CNI request).
 */
export async function withDeadline<T>(ms: number, what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DeadlineExceededError(`${what}: not done within ${ms} ms`)), ms);
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}
