/**
 * The undo stack of a multi-step operation (cf. plugins bridge.go): each step that succeeds
 * pushes how to take it back; if the operation does not commit, the steps are undone in reverse.
 * Undo errors are logged and do not stop the other undos.
 */
import type { Logger } from 'pino';

export class UndoStack {
  readonly #steps: Array<{ label: string; undo: () => Promise<unknown> }> = [];
  #committed = false;
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  push(label: string, undo: () => Promise<unknown>): void {
    this.#steps.push({ label, undo });
  }

  commit(): void {
    this.#committed = true;
  }

  /** Runs the undos unless committed; call it in `finally`. */
  async unwind(): Promise<void> {
    if (this.#committed) return;
    for (const { label, undo } of this.#steps.reverse()) {
      try {
        await undo();
        this.#log.info({ step: label }, 'undid step');
      } catch (err) {
        this.#log.error({ step: label, err }, 'undo failed');
      }
    }
    this.#steps.length = 0;
  }
}
