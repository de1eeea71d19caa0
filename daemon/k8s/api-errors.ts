/** What a failed @kubernetes/client-node call says: its HTTP status and the API server's message. */
import { isObject } from '../cni-spec/json.ts';

/** The HTTP status of a failed client-node call (ApiException.code), undefined for other errors. */
export function statusCode(err: unknown): number | undefined {
  return isObject(err) && typeof err['code'] === 'number' ? err['code'] : undefined;
}

/** The API server's message for a failed call (the Status body's), else the error's. */
export function describe(err: unknown): string {
  if (isObject(err)) {
    const body = err['body'];
    const parsed: unknown = typeof body === 'string' ? safeParse(body) : body;
    if (isObject(parsed) && typeof parsed['message'] === 'string') return parsed['message'];
  }
  return err instanceof Error ? err.message : String(err);
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
