/** A state machine's Lambda task entry (functions/aws/handlers/step-*.ts): the step on the ports its entry wires. */

import { stepInput } from '../input-parser.ts';
import type { IntakeDeps } from '../intake.ts';
import { type Wiring, wiredDeps } from '../runtime.ts';
import { type WrapOptions, wrap } from './wrap.ts';

/**
 * A state machine's Lambda task: the step `fn` on the ports `wiring` names (runtime.ts `wiredDeps`,
 * each built on first use), its input checked as that step's.
 */
export function step<I, R>(
  name: string,
  fn: (deps: IntakeDeps, input: I) => Promise<R>,
  wiring: Wiring,
  options: Partial<WrapOptions> = {},
  // biome-ignore lint/suspicious/noExplicitAny: middy's handler type is generic over any event.
): any {
  const deps = wiredDeps(wiring);
  return wrap(name, (input: I) => fn(deps, input), { ...options, input: options.input ?? stepInput(name) });
}
