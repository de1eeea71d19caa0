/** Passes a request's AbortSignal to the fetch behind a @kubernetes/client-node call. */
import { Observable, type ConfigurationOptions } from '@kubernetes/client-node';

export function withSignal(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (c) => {
          c.setSignal(signal);
          return new Observable(Promise.resolve(c));
        },
        post: (c) => new Observable(Promise.resolve(c)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}
