/**
 * Stops the parts of a running local cloud in order, every one of them even when an earlier one
 * throws: a failing part must not leave the others (servers, timers, process groups) running.
 * Throws one error naming each part that failed and why.
 */
export type Part = readonly [name: string, stop: () => unknown];

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

/** Each step is one part or a group stopped together (Promise.allSettled). */
export async function stopParts(steps: ReadonlyArray<Part | ReadonlyArray<Part>>): Promise<void> {
  const failures: Array<{ part: string; error: unknown }> = [];
  for (const step of steps) {
    const group = (typeof step[0] === 'string' ? [step] : step) as ReadonlyArray<Part>;
    const settled = await Promise.allSettled(group.map(async ([, stop]) => stop()));
    settled.forEach((s, i) => {
      if (s.status === 'rejected') failures.push({ part: group[i]?.[0] ?? '?', error: s.reason });
    });
  }
  if (failures.length > 0) throw new StopError(failures);
}
