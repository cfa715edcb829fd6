/**
 * The Workflows interpreter: runs a compiled definition (definition.ts) step by step, with
 * Workflows scoping, control flow, error tags, retries on the injected (virtual) clock, the 512 KB
 * variable memory limit, and a count of the steps Google would bill (internal vs external).
 * Variables and their scopes are in variables.ts, what a step declares (loop items, retry policy)
 * in step-inputs.ts, and the outcome and error shapes in outcome.ts.
 */
import type { ForDef, Routine, Step, Workflow } from './definition.ts';
import { type EvalContext, evaluate, expressionText, parseExpression } from './expr.ts';
import {
  CancelledError,
  type ExecutionOutcome,
  errorReport,
  type Frame,
  InvalidWorkflowError,
  MAX_STEPS,
  MEMORY_LIMIT_BYTES,
  type RunOptions,
  retryNotes,
  type Signal,
  type StepRecord,
  traces,
  unhandledBranchError,
} from './outcome.ts';
import type { ExecutionIdentity, WorkflowPorts } from './ports.ts';
import { type CallRuntime, CONSTANTS, isLibraryName, LIBRARY } from './stdlib.ts';
import { loopItems, retryPolicy } from './step-inputs.ts';
import {
  clone,
  FunctionRef,
  keyError,
  type MapValue,
  tagged,
  toValue,
  typeError,
  typeName,
  type Value,
  valueError,
  WorkflowsError,
} from './values.ts';
import { type Evaluator, Scope, Variables } from './variables.ts';

const MAX_CALL_DEPTH = 1_000;
const MAX_TRACE = 10_000;

export class Execution {
  readonly #wf: Workflow;
  readonly #ports: WorkflowPorts;
  readonly #identity: ExecutionIdentity;
  readonly #signal: AbortSignal;
  readonly #maxSteps: number;
  readonly #onStep: ((r: StepRecord) => void) | undefined;
  readonly #vars: Variables;
  readonly steps: StepRecord[] = [];
  readonly count = { internal: 0, external: 0, total: 0 };

  constructor(wf: Workflow, ports: WorkflowPorts, options: RunOptions = {}) {
    if (wf.problems.length > 0) {
      const p = wf.problems[0]!;
      throw new InvalidWorkflowError(
        `the workflow has ${wf.problems.length} problem(s); first: line ${p.line}: ${p.message}`,
      );
    }
    if (!wf.routines.has('main')) throw new InvalidWorkflowError('the workflow has no main');
    this.#wf = wf;
    this.#ports = ports;
    this.#identity = {
      project: 'local-project',
      projectNumber: '000000000000',
      location: 'us-central1',
      workflow: 'workflow',
      revision: '000001-abc',
      execution: 'local-execution',
      ...options.identity,
    };
    this.#signal = options.signal ?? new AbortController().signal;
    this.#vars = new Variables(options.memoryLimitBytes ?? MEMORY_LIMIT_BYTES);
    this.#maxSteps = options.maxSteps ?? MAX_STEPS;
    this.#onStep = options.onStep;
  }

  async run(argument?: Value): Promise<ExecutionOutcome> {
    const main = this.#wf.routines.get('main') as Routine;
    const positional = main.params.length > 0 ? [argument === undefined ? null : argument] : [];
    try {
      const result = await this.#callRoutine(main, positional, undefined, 0);
      return { state: 'SUCCEEDED', result, steps: this.steps, stepCount: { ...this.count } };
    } catch (e) {
      if (e instanceof CancelledError || this.#signal.aborted)
        return { state: 'CANCELLED', steps: this.steps, stepCount: { ...this.count } };
      const err =
        e instanceof WorkflowsError ? e : tagged('SystemError', `internal error: ${(e as Error).message}`);
      return {
        state: 'FAILED',
        error: errorReport(err),
        errorValue: err.value,
        steps: this.steps,
        stepCount: { ...this.count },
      };
    }
  }

  // ---- routines ---------------------------------------------------------------------------------

  async #callRoutine(
    routine: Routine,
    positional: Value[] | undefined,
    named: MapValue | undefined,
    depth: number,
  ): Promise<Value> {
    if (depth > MAX_CALL_DEPTH)
      throw tagged(
        'RecursionError',
        `maximum call depth ${MAX_CALL_DEPTH} exceeded calling "${routine.name}"`,
      );
    const scope = new Scope(undefined, 'routine');
    const frame: Frame = { routine: routine.name, depth };
    const given = new Set<string>();
    if (positional) {
      if (positional.length > routine.params.length)
        throw typeError(
          `"${routine.name}" takes ${routine.params.length} argument(s), got ${positional.length}`,
        );
      positional.forEach((v, i) => {
        const p = routine.params[i]!;
        this.#vars.define(scope, p.name, v);
        given.add(p.name);
      });
    }
    if (named) {
      for (const [k, v] of Object.entries(named)) {
        if (!routine.params.some((p) => p.name === k))
          throw typeError(
            `"${routine.name}" has no parameter "${k}" (parameters: ${routine.params.map((p) => p.name).join(', ') || 'none'})`,
          );
        this.#vars.define(scope, k, v);
        given.add(k);
      }
    }
    for (const p of routine.params) {
      if (given.has(p.name)) continue;
      if (!p.hasDefault) {
        if (routine.name === 'main') {
          this.#vars.define(scope, p.name, null);
          continue;
        }
        throw typeError(`missing argument "${p.name}" calling "${routine.name}"`);
      }
      this.#vars.define(scope, p.name, clone(toValue(p.default)));
    }
    try {
      const sig = await this.#runSteps(routine.steps, scope, frame);
      if (sig?.k === 'return') return sig.value;
      if (sig?.k === 'jump') throw this.#badJump(sig);
      if (sig?.k === 'break' || sig?.k === 'continue')
        throw tagged('SystemError', `"${sig.k}" used outside a for loop in "${routine.name}"`);
      return null;
    } finally {
      this.#vars.release(scope);
    }
  }

  #badJump(sig: { target: string; from: Step }): WorkflowsError {
    const e = tagged(
      'SystemError',
      `step "${sig.from.name}" (line ${sig.from.pos.line}) jumps to "${sig.target}", which is not a step it can reach`,
    );
    return e;
  }

  // ---- steps ------------------------------------------------------------------------------------

  async #runSteps(steps: Step[], scope: Scope, frame: Frame): Promise<Signal | undefined> {
    let i = 0;
    while (i < steps.length) {
      const step = steps[i] as Step;
      const sig = await this.#exec(step, scope, frame);
      let target: string | undefined;
      if (sig === undefined) target = step.next;
      else if (sig.k === 'jump') target = sig.target;
      else return sig;
      if (target === undefined) {
        i++;
        continue;
      }
      if (target === 'end') return { k: 'end' };
      if (target === 'break') return { k: 'break' };
      if (target === 'continue') return { k: 'continue' };
      const idx = steps.findIndex((s) => s.name === target);
      if (idx < 0) return { k: 'jump', target, from: sig?.k === 'jump' ? sig.from : step };
      i = idx;
    }
    return undefined;
  }

  #record(step: Step): StepRecord {
    if (this.#signal.aborted) throw new CancelledError();
    if (this.count.total >= this.#maxSteps)
      throw tagged('ResourceLimitError', `the execution exceeded ${this.#maxSteps} steps`);
    const rec: StepRecord = { step: step.name, routine: step.routine, billing: 'internal' };
    this.count.total++;
    this.count.internal++;
    if (this.steps.length < MAX_TRACE) this.steps.push(rec);
    this.#onStep?.(rec);
    return rec;
  }

  /** Runs one step; undefined means "go on as `next` says". */
  async #exec(step: Step, scope: Scope, frame: Frame): Promise<Signal | undefined> {
    const rec = this.#record(step);
    try {
      return await this.#body(step, scope, frame, rec);
    } catch (e) {
      if (e instanceof WorkflowsError) {
        const t = traces.get(e) ?? [];
        if (!t.some((x) => x.frame === frame)) t.push({ frame, step });
        traces.set(e, t);
      }
      throw e;
    }
  }

  async #body(step: Step, scope: Scope, frame: Frame, rec: StepRecord): Promise<Signal | undefined> {
    switch (step.kind) {
      case 'next':
        return undefined;
      case 'assign':
        for (const item of step.assign) await this.#vars.assign(item, scope, this.#evaluator(scope, frame));
        return undefined;
      case 'call': {
        const args = step.args ? ((await this.#resolve(step.args, scope, frame)) as MapValue) : {};
        const value = await this.#callNamed(step.call, args, frame, rec, step);
        if (step.result) this.#vars.set(scope, step.result, value);
        return undefined;
      }
      case 'raise':
        throw new WorkflowsError(await this.#resolve(step.value, scope, frame));
      case 'return':
        return { k: 'return', value: await this.#resolve(step.value, scope, frame) };
      case 'steps':
        return this.#runSteps(step.steps, scope, frame);
      case 'switch':
        for (const c of step.conditions) {
          const ok = await this.#resolve(c.condition, scope, frame);
          if (typeof ok !== 'boolean')
            throw typeError(`switch condition in step "${step.name}" must be a boolean, got ${typeName(ok)}`);
          if (!ok) continue;
          if (c.body) {
            const sig = await this.#body(c.body, scope, frame, rec);
            if (sig) return sig;
          }
          if (c.next) return { k: 'jump', target: c.next, from: step };
          return undefined;
        }
        return undefined;
      case 'for':
        return this.#for(step, step.loop, scope, frame);
      case 'parallel':
        return this.#parallel(step, scope, frame);
      case 'try':
        return this.#try(step, scope, frame, rec);
    }
  }

  // ---- expressions ------------------------------------------------------------------------------

  #ctx(scope: Scope, frame: Frame): EvalContext {
    return {
      lookup: (name) => scope.lookup(name),
      global: (name) => {
        if (name in CONSTANTS) return CONSTANTS[name] as Value;
        if (name in LIBRARY || this.#wf.routines.has(name) || isLibraryName(name))
          return new FunctionRef(name);
        return undefined;
      },
      call: async (name, args) => {
        const routine = this.#wf.routines.get(name);
        if (routine) return this.#callRoutine(routine, args, undefined, frame.depth + 1);
        const fn = LIBRARY[name];
        if (!fn)
          throw keyError(
            `function "${name}" is not defined (not a subworkflow or a supported library function)`,
          );
        if (fn.blocking)
          throw typeError(`${name} is a blocking call and cannot be used in an expression; use a call step`);
        if (args.length > fn.params.length)
          throw typeError(`${name} takes at most ${fn.params.length} argument(s), got ${args.length}`);
        if (args.length < fn.required)
          throw typeError(
            `${name} needs ${fn.required} argument(s) (${fn.params.slice(0, fn.required).join(', ')}), got ${args.length}`,
          );
        return fn.fn(args, this.#runtime('', undefined));
      },
    };
  }

  #evaluator(scope: Scope, frame: Frame): Evaluator {
    return {
      resolve: (v) => this.#resolve(v, scope, frame),
      evaluate: (n) => evaluate(n, this.#ctx(scope, frame)),
    };
  }

  /** Evaluates every `${...}` inside a value (lists and maps recursively). */
  async #resolve(v: unknown, scope: Scope, frame: Frame): Promise<Value> {
    const text = expressionText(v);
    if (text !== undefined) return evaluate(parseExpression(text), this.#ctx(scope, frame));
    if (Array.isArray(v)) {
      const out: Value[] = [];
      for (const x of v) out.push(await this.#resolve(x, scope, frame));
      return out;
    }
    if (typeof v === 'object' && v !== null) {
      const out: MapValue = {};
      for (const [k, x] of Object.entries(v)) out[k] = await this.#resolve(x, scope, frame);
      return out;
    }
    return toValue(v);
  }

  #runtime(stepName: string, rec: StepRecord | undefined): CallRuntime {
    return {
      ports: this.#ports,
      identity: this.#identity,
      signal: this.#signal,
      step: stepName,
      sleep: (ms) => this.#sleep(ms),
      markExternal: () => {
        if (rec && rec.billing === 'internal') {
          rec.billing = 'external';
          this.count.internal--;
          this.count.external++;
        }
      },
    };
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#signal.aborted) {
        reject(new CancelledError());
        return;
      }
      const onAbort = () => {
        timer.cancel();
        reject(new CancelledError());
      };
      const timer = this.#ports.clock.after(ms, () => {
        this.#signal.removeEventListener('abort', onAbort);
        resolve();
      });
      this.#signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async #callNamed(name: string, args: MapValue, frame: Frame, rec: StepRecord, step: Step): Promise<Value> {
    const routine = this.#wf.routines.get(name);
    if (routine) return this.#callRoutine(routine, undefined, args, frame.depth + 1);
    const fn = LIBRARY[name];
    if (!fn) throw keyError(`"${name}" is not a subworkflow or a supported library function`);
    const positional: (Value | undefined)[] = fn.params.map(() => undefined);
    for (const [k, v] of Object.entries(args)) {
      const i = fn.params.indexOf(k);
      if (i < 0)
        throw typeError(`${name} has no argument "${k}" (arguments: ${fn.params.join(', ') || 'none'})`);
      positional[i] = v;
    }
    for (let i = 0; i < fn.required; i++)
      if (positional[i] === undefined) throw typeError(`${name} needs the argument "${fn.params[i]}"`);
    return fn.fn(positional, this.#runtime(step.name, rec));
  }

  /** Calls a predicate: a library function or subworkflow reference. */
  async #callRef(ref: Value, args: Value[], frame: Frame): Promise<Value> {
    if (!(ref instanceof FunctionRef))
      throw typeError(
        `a retry predicate must be a function or subworkflow (e.g. \${http.default_retry_predicate}), got ${typeName(ref)}`,
      );
    const routine = this.#wf.routines.get(ref.name);
    if (routine) return this.#callRoutine(routine, args, undefined, frame.depth + 1);
    const fn = LIBRARY[ref.name];
    if (!fn) throw keyError(`"${ref.name}" is not a subworkflow or a supported library function`);
    return fn.fn(args, this.#runtime('', undefined));
  }

  // ---- loops ------------------------------------------------------------------------------------

  async #for(step: Step, loop: ForDef, scope: Scope, frame: Frame): Promise<Signal | undefined> {
    const items = await loopItems(step, loop, (v) => this.#resolve(v, scope, frame));
    for (let i = 0; i < items.length; i++) {
      const inner = new Scope(scope, 'loop');
      try {
        if (loop.value) this.#vars.define(inner, loop.value, clone(items[i] as Value));
        if (loop.index) this.#vars.define(inner, loop.index, i);
        const sig = await this.#runSteps(loop.steps, inner, frame);
        if (sig?.k === 'break') break;
        if (sig?.k === 'continue' || sig === undefined) continue;
        if (sig.k === 'jump') throw this.#badJump(sig);
        return sig;
      } finally {
        this.#vars.release(inner);
      }
    }
    return undefined;
  }

  async #parallel(
    step: Step & { kind: 'parallel' },
    scope: Scope,
    frame: Frame,
  ): Promise<Signal | undefined> {
    for (const name of step.shared)
      if (scope.lookup(name) === undefined)
        throw keyError(
          `shared variable "${name}" of parallel step "${step.name}" must be assigned before the step`,
        );
    const shared = new Set(step.shared);
    const tasks: { id: string; run: () => Promise<void> }[] = [];
    const runBranch = async (steps: Step[], init: (s: Scope) => void) => {
      const inner = new Scope(scope, 'branch', shared);
      try {
        init(inner);
        const sig = await this.#runSteps(steps, inner, frame);
        if (sig?.k === 'jump') throw this.#badJump(sig);
        if (sig?.k === 'return')
          throw tagged('SystemError', `return is not allowed inside parallel step "${step.name}"`);
        if (sig?.k === 'break')
          throw tagged('SystemError', `break is not allowed inside parallel step "${step.name}"`);
      } finally {
        this.#vars.release(inner);
      }
    };
    if (step.branches) {
      for (const b of step.branches) tasks.push({ id: b.name, run: () => runBranch(b.steps, () => {}) });
    } else if (step.loop) {
      const loop = step.loop;
      const items = await loopItems(step, loop, (v) => this.#resolve(v, scope, frame));
      items.forEach((item, i) => {
        tasks.push({
          id: String(i),
          run: () =>
            runBranch(loop.steps, (s) => {
              if (loop.value) this.#vars.define(s, loop.value, clone(item));
              if (loop.index) this.#vars.define(s, loop.index, i);
            }),
        });
      });
    }
    let limit = tasks.length;
    if (step.concurrencyLimit !== undefined) {
      const l = await this.#resolve(step.concurrencyLimit, scope, frame);
      if (typeof l !== 'number' || !Number.isInteger(l) || l < 1)
        throw valueError(`concurrency_limit of step "${step.name}" must be a positive integer`);
      limit = l;
    }
    const failures: { id: string; error: Value }[] = [];
    let cancelled: unknown;
    let next = 0;
    const worker = async () => {
      while (next < tasks.length) {
        const t = tasks[next++] as (typeof tasks)[number];
        try {
          await t.run();
        } catch (e) {
          if (e instanceof WorkflowsError) failures.push({ id: t.id, error: e.value });
          else cancelled ??= e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
    if (cancelled) throw cancelled;
    if (failures.length > 0) throw unhandledBranchError(step.name, failures, tasks);
    return undefined;
  }

  // ---- errors -----------------------------------------------------------------------------------

  async #try(
    step: Step & { kind: 'try' },
    scope: Scope,
    frame: Frame,
    rec: StepRecord,
  ): Promise<Signal | undefined> {
    const { retry, except } = step;
    let attempt = 0;
    let delay = 0;
    for (;;) {
      try {
        if (step.inline) {
          // The body is this very step; a retry is billed as one more step.
          const r = attempt === 0 ? rec : this.#record(step);
          return await this.#body(step.body[0]!, scope, frame, r);
        }
        return await this.#runSteps(step.body, scope, frame);
      } catch (e) {
        if (!(e instanceof WorkflowsError)) throw e;
        if (retry) {
          const policy = await retryPolicy(retry, (v) => this.#resolve(v, scope, frame));
          if (attempt < policy.maxRetries) {
            const ok = await this.#callRef(policy.predicate, [e.value], frame);
            if (typeof ok !== 'boolean')
              throw typeError(
                `retry predicate of step "${step.name}" must return a boolean, got ${typeName(ok)}`,
              );
            if (ok) {
              delay =
                attempt === 0 ? policy.initialDelay : Math.min(delay * policy.multiplier, policy.maxDelay);
              delay = Math.min(delay, policy.maxDelay);
              attempt++;
              await this.#sleep(delay * 1000);
              continue;
            }
          } else if (policy.maxRetries > 0) {
            retryNotes.set(
              e,
              `retries exhausted: step "${step.name}" failed ${attempt + 1} times (max_retries ${policy.maxRetries})`,
            );
          }
        }
        if (except) {
          if (except.as) this.#vars.set(scope, except.as, e.value);
          return this.#runSteps(except.steps, scope, frame);
        }
        throw e;
      }
    }
  }
}
