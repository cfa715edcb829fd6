/**
 * What a starting local cloud has started, stopped in the reverse of the order it started in: all
 * of it when a later part fails to start, and all of it at `stop()`. A part is added as soon as it
 * runs, so a failed start never leaves a server, a timer or a process group behind, and no start
 * path needs its own rollback. Built on AsyncDisposableStack (reverse order, each part once), with
 * every part stopped even when an earlier one throws, and one error naming each part that failed.
 */
export class StopError extends AggregateError {
  readonly failures: ReadonlyArray<{ part: string; error: unknown }>;

  constructor(failures: ReadonlyArray<{ part: string; error: unknown }>) {
    super(
      failures.map((f) => f.error),
      failures.map((f) => `${f.part}: ${(f.error as Error)?.message ?? String(f.error)}`).join('; '),
    );
    this.name = 'StopError';
    this.failures = failures;
  }
}

export class Parts {
  readonly #stack = new AsyncDisposableStack();
  readonly #failures: Array<{ part: string; error: unknown }> = [];

  /** Adds a started part: `stop` runs before that of every part added earlier. */
  add(part: string, stop: () => unknown): void {
    this.#stack.defer(async () => {
      try {
        await stop();
      } catch (error) {
        this.#failures.push({ part, error });
      }
    });
  }

  /** Stops every part added, last first (once: a second call stops nothing); throws a StopError naming each failure. */
  async stop(): Promise<void> {
    await this.#stack.disposeAsync();
    if (this.#failures.length > 0) throw new StopError(this.#failures.splice(0));
  }
}
