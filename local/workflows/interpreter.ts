/**
 * The Workflows interpreter: runs a compiled definition (definition.ts) step by step, with
 * Workflows scoping, control flow, error tags, retries on the injected (virtual) clock, the 512 KB
 * variable memory limit, and a count of the steps Google would bill (internal vs external).
 */
import type { AssignItem, ForDef, RetryDef, Routine, Step, Workflow } from './definition.ts';
import { type EvalContext, evaluate, expressionText, type Node, parseExpression } from './expr.ts';
import type { ExecutionIdentity, WorkflowPorts } from './ports.ts';
import { type CallRuntime, CONSTANTS, isLibraryName, LIBRARY } from './stdlib.ts';
import {
  clone,
  FunctionRef,
  indexError,
  isMap,
  keyError,
  type MapValue,
  safeStringify,
  sizeOf,
  tagged,
  typeError,
  typeName,
  type Value,
  valueError,
  WorkflowsError,
} from './values.ts';

/** Workflows caps the memory of all variables of an execution at 512 KB. */
export const MEMORY_LIMIT_BYTES = 512 * 1024;
/** Workflows stops an execution after 100,000 steps. */
export const MAX_STEPS = 100_000;
const MAX_CALL_DEPTH = 1_000;
const MAX_TRACE = 10_000;

export type StepBilling = 'internal' | 'external';

export interface StepRecord {
  step: string;
  routine: string;
  billing: StepBilling;
}

export interface StackElement {
  step: string;
  routine: string;
  position: { line: number; column: number; length: number };
}

/** The error of a failed execution, shaped like the Executions API's `error`. */
export interface ExecutionError {
  payload: string;
  context: string;
  stackTrace: { elements: StackElement[] };
}

export type ExecutionState = 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export interface ExecutionOutcome {
  state: ExecutionState;
  result?: Value;
  error?: ExecutionError;
  /** The raised value (what `except: as: e` would have seen). */
  errorValue?: Value;
  /** Steps taken in order (the first 10,000). */
  steps: StepRecord[];
  stepCount: { internal: number; external: number; total: number };
}

export interface RunOptions {
  argument?: Value;
  identity?: Partial<ExecutionIdentity>;
  signal?: AbortSignal;
  memoryLimitBytes?: number;
  maxSteps?: number;
  /** Called as each step starts (the Executions API shows progress with it). */
  onStep?: (record: StepRecord) => void;
}

/** The execution was cancelled: not a workflow error, so `except` never sees it. */
export class CancelledError extends Error {
  constructor() {
    super('the execution was cancelled');
    this.name = 'CancelledError';
  }
}

/** A definition that cannot run (the linter lists why). */
export class InvalidWorkflowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidWorkflowError';
  }
}

type Signal =
  | { k: 'end' }
  | { k: 'return'; value: Value }
  | { k: 'break' }
  | { k: 'continue' }
  | { k: 'jump'; target: string; from: Step };

interface Frame {
  routine: string;
  depth: number;
}

/** Where an error was raised, per routine frame, innermost first. */
const traces = new WeakMap<WorkflowsError, { frame: Frame; step: Step }[]>();
const retryNotes = new WeakMap<WorkflowsError, string>();

class Scope {
  readonly vars = new Map<string, Value>();
  readonly sizes = new Map<string, number>();
  readonly parent: Scope | undefined;
  readonly kind: 'routine' | 'loop' | 'branch';
  readonly shared: ReadonlySet<string>;
  constructor(
    parent: Scope | undefined,
    kind: 'routine' | 'loop' | 'branch',
    shared: ReadonlySet<string> = new Set(),
  ) {
    this.parent = parent;
    this.kind = kind;
    this.shared = shared;
  }
  lookup(name: string): Value | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) if (s.vars.has(name)) return s.vars.get(name);
    return undefined;
  }
  /** The scope that owns `name`, or undefined. `crossesBranch` tells whether a branch barrier lies between. */
  owner(name: string): { scope: Scope; crossesBranch: boolean; sharedOk: boolean } | undefined {
    let crosses = false;
    let sharedOk = false;
    for (let s: Scope | undefined = this; s; s = s.parent) {
      if (s.vars.has(name)) return { scope: s, crossesBranch: crosses, sharedOk };
      if (s.kind === 'branch') {
        crosses = true;
        if (s.shared.has(name)) sharedOk = true;
      }
    }
    return undefined;
  }
  get total(): number {
    let n = 0;
    for (const v of this.sizes.values()) n += v;
    return n;
  }
}

export class Execution {
  readonly #wf: Workflow;
  readonly #ports: WorkflowPorts;
  readonly #identity: ExecutionIdentity;
  readonly #signal: AbortSignal;
  readonly #memoryLimit: number;
  readonly #maxSteps: number;
  readonly #onStep: ((r: StepRecord) => void) | undefined;
  #memory = 0;
  readonly #locks = new WeakMap<Scope, Map<string, Promise<void>>>();
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
    this.#memoryLimit = options.memoryLimitBytes ?? MEMORY_LIMIT_BYTES;
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
        error: this.#report(err),
        errorValue: err.value,
        steps: this.steps,
        stepCount: { ...this.count },
      };
    }
  }

  #report(err: WorkflowsError): ExecutionError {
    const trace = traces.get(err) ?? [];
    const elements: StackElement[] = trace.map(({ step }) => ({
      step: step.name,
      routine: step.routine,
      position: { line: step.pos.line, column: step.pos.col, length: step.name.length },
    }));
    const v = err.value;
    const head =
      typeof v === 'string'
        ? `raised: ${v}`
        : isMap(v) && typeof v.message === 'string'
          ? `${Array.isArray(v.tags) && v.tags.length > 0 ? `${v.tags.join(', ')}: ` : ''}${v.message}`
          : `raised: ${safeStringify(v)}`;
    const lines = [head];
    for (const el of elements)
      lines.push(`in step "${el.step}", routine "${el.routine}", line: ${el.position.line}`);
    const note = retryNotes.get(err);
    if (note) lines.push(note);
    return { payload: safeStringify(v), context: lines.join('\n'), stackTrace: { elements } };
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
        this.#define(scope, p.name, v);
        given.add(p.name);
      });
    }
    if (named) {
      for (const [k, v] of Object.entries(named)) {
        if (!routine.params.some((p) => p.name === k))
          throw typeError(
            `"${routine.name}" has no parameter "${k}" (parameters: ${routine.params.map((p) => p.name).join(', ') || 'none'})`,
          );
        this.#define(scope, k, v);
        given.add(k);
      }
    }
    for (const p of routine.params) {
      if (given.has(p.name)) continue;
      if (!p.hasDefault) {
        if (routine.name === 'main') {
          this.#define(scope, p.name, null);
          continue;
        }
        throw typeError(`missing argument "${p.name}" calling "${routine.name}"`);
      }
      this.#define(scope, p.name, clone(toValue(p.default)));
    }
    try {
      const sig = await this.#runSteps(routine.steps, scope, frame);
      if (sig?.k === 'return') return sig.value;
      if (sig?.k === 'jump') throw this.#badJump(sig);
      if (sig?.k === 'break' || sig?.k === 'continue')
        throw tagged('SystemError', `"${sig.k}" used outside a for loop in "${routine.name}"`);
      return null;
    } finally {
      this.#release(scope);
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
        for (const item of step.assign) await this.#assign(item, scope, frame);
        return undefined;
      case 'call': {
        const args = step.args ? ((await this.#resolve(step.args, scope, frame)) as MapValue) : {};
        const value = await this.#callNamed(step.call, args, frame, rec, step);
        if (step.result) this.#set(scope, step.result, value);
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

  // ---- variables --------------------------------------------------------------------------------

  #define(scope: Scope, name: string, value: Value): void {
    const size = sizeOf(value) + name.length;
    const old = scope.sizes.get(name) ?? 0;
    this.#charge(size - old);
    scope.vars.set(name, value);
    scope.sizes.set(name, size);
  }

  #charge(delta: number): void {
    this.#memory += delta;
    if (this.#memory > this.#memoryLimit) {
      this.#memory -= delta;
      throw tagged(
        'ResourceLimitError',
        `Memory usage limit exceeded: variables would take ${this.#memory + delta} bytes, more than the ${this.#memoryLimit}-byte limit`,
      );
    }
  }

  #release(scope: Scope): void {
    this.#memory -= scope.total;
    scope.sizes.clear();
  }

  /** Assigns a whole variable with Workflows scoping (loop-local unless it already exists outside). */
  #set(scope: Scope, name: string, value: Value): void {
    const owner = scope.owner(name);
    if (owner) {
      if (owner.crossesBranch && !owner.sharedOk)
        throw tagged(
          'SystemError',
          `variable "${name}" is assigned in a parallel branch but is not listed in "shared"`,
        );
      this.#define(owner.scope, name, value);
      return;
    }
    this.#define(scope, name, value);
  }

  /**
   * Each assignment to a shared variable is atomic, as in the cloud: branches take turns on the
   * variable from reading it in the expression to writing it back.
   */
  async #assign(item: AssignItem, scope: Scope, frame: Frame): Promise<void> {
    const owner = scope.owner(item.root);
    if (!owner?.crossesBranch) return this.#assignNow(item, scope, frame);
    let locks = this.#locks.get(owner.scope);
    if (!locks) {
      locks = new Map();
      this.#locks.set(owner.scope, locks);
    }
    const previous = locks.get(item.root) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const chain = previous.then(() => mine);
    locks.set(item.root, chain);
    await previous;
    try {
      await this.#assignNow(item, scope, frame);
    } finally {
      release();
      if (locks.get(item.root) === chain) locks.delete(item.root);
    }
  }

  async #assignNow(item: AssignItem, scope: Scope, frame: Frame): Promise<void> {
    const value = clone(await this.#resolve(item.value, scope, frame));
    if (item.path.k === 'var') {
      this.#set(scope, item.root, value);
      return;
    }
    const owner = scope.owner(item.root);
    if (!owner) throw keyError(`variable "${item.root}" is not defined (assigning ${item.target})`);
    if (owner.crossesBranch && !owner.sharedOk)
      throw tagged(
        'SystemError',
        `variable "${item.root}" is assigned in a parallel branch but is not listed in "shared"`,
      );
    const root = owner.scope.vars.get(item.root) as Value;
    const updated = await this.#setPath(root, item.path, value, scope, frame, item.target);
    this.#define(owner.scope, item.root, updated);
  }

  /** Returns `container` with the value at `path` replaced (creating missing map keys). */
  async #setPath(
    root: Value,
    path: Node,
    value: Value,
    scope: Scope,
    frame: Frame,
    text: string,
  ): Promise<Value> {
    const chain: { key: string | number }[] = [];
    let n: Node = path;
    while (n.k === 'member' || n.k === 'index') {
      if (n.k === 'member') chain.unshift({ key: n.name });
      else {
        const k = await evaluate(n.index, this.#ctx(scope, frame));
        if (typeof k !== 'string' && typeof k !== 'number')
          throw typeError(`cannot assign ${text}: index must be a string or integer, got ${typeName(k)}`);
        chain.unshift({ key: k });
      }
      n = n.obj;
    }
    const put = (cur: Value, i: number): Value => {
      const { key } = chain[i] as { key: string | number };
      const last = i === chain.length - 1;
      if (typeof key === 'number') {
        if (!Array.isArray(cur)) throw typeError(`cannot assign ${text}: ${typeName(cur)} is not a list`);
        if (!Number.isInteger(key)) throw typeError(`cannot assign ${text}: list index must be an integer`);
        const idx = key < 0 ? cur.length + key : key;
        if (idx < 0 || idx >= cur.length)
          throw indexError(`cannot assign ${text}: list index ${key} out of range`);
        cur[idx] = last ? value : put(cur[idx] as Value, i + 1);
        return cur;
      }
      if (cur === null && !last) cur = {};
      if (!isMap(cur)) throw typeError(`cannot assign ${text}: ${typeName(cur)} is not a map`);
      const child = Object.hasOwn(cur, key) ? (cur[key] as Value) : null;
      cur[key] = last ? value : put(child === null ? {} : child, i + 1);
      return cur;
    };
    return put(root, 0);
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

  async #items(step: Step, loop: ForDef, scope: Scope, frame: Frame): Promise<Value[]> {
    if (loop.range !== undefined) {
      const r = await this.#resolve(loop.range, scope, frame);
      if (!Array.isArray(r) || r.length !== 2 || typeof r[0] !== 'number' || typeof r[1] !== 'number')
        throw typeError(
          `for range in step "${step.name}" must be [start, end] numbers, got ${safeStringify(r)}`,
        );
      const out: Value[] = [];
      for (let x = r[0]; x <= r[1]; x++) {
        out.push(x);
        if (out.length > MAX_STEPS) throw valueError(`for range in step "${step.name}" is too large`);
      }
      return out;
    }
    const items = await this.#resolve(loop.in, scope, frame);
    if (!Array.isArray(items))
      throw typeError(
        `for "in" in step "${step.name}" must be a list, got ${typeName(items)} (use keys() for a map)`,
      );
    return items;
  }

  async #for(step: Step, loop: ForDef, scope: Scope, frame: Frame): Promise<Signal | undefined> {
    const items = await this.#items(step, loop, scope, frame);
    for (let i = 0; i < items.length; i++) {
      const inner = new Scope(scope, 'loop');
      try {
        if (loop.value) this.#define(inner, loop.value, clone(items[i] as Value));
        if (loop.index) this.#define(inner, loop.index, i);
        const sig = await this.#runSteps(loop.steps, inner, frame);
        if (sig?.k === 'break') break;
        if (sig?.k === 'continue' || sig === undefined) continue;
        if (sig.k === 'jump') throw this.#badJump(sig);
        return sig;
      } finally {
        this.#release(inner);
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
        this.#release(inner);
      }
    };
    if (step.branches) {
      for (const b of step.branches) tasks.push({ id: b.name, run: () => runBranch(b.steps, () => {}) });
    } else if (step.loop) {
      const loop = step.loop;
      const items = await this.#items(step, loop, scope, frame);
      items.forEach((item, i) => {
        tasks.push({
          id: String(i),
          run: () =>
            runBranch(loop.steps, (s) => {
              if (loop.value) this.#define(s, loop.value, clone(item));
              if (loop.index) this.#define(s, loop.index, i);
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
    if (failures.length > 0) {
      failures.sort((a, b) => tasks.findIndex((t) => t.id === a.id) - tasks.findIndex((t) => t.id === b.id));
      const first = failures[0]!;
      const firstMsg =
        typeof first.error === 'string'
          ? first.error
          : isMap(first.error) && typeof first.error.message === 'string'
            ? first.error.message
            : safeStringify(first.error);
      throw new WorkflowsError({
        message: `UnhandledBranchError: ${failures.length} branch(es) or iteration(s) of parallel step "${step.name}" raised an unhandled error; first (${first.id}): ${firstMsg}`,
        tags: ['UnhandledBranchError'],
        branches: failures.map((f) => ({ id: f.id, error: f.error })),
        truncated: false,
      });
    }
    return undefined;
  }

  // ---- errors -----------------------------------------------------------------------------------

  async #retryPolicy(retry: RetryDef, scope: Scope, frame: Frame) {
    let raw: Value;
    if (retry.policy !== undefined) raw = await this.#resolve(retry.policy, scope, frame);
    else {
      raw = {
        predicate: await this.#resolve(retry.predicate, scope, frame),
        max_retries:
          retry.maxRetries === undefined ? null : await this.#resolve(retry.maxRetries, scope, frame),
        backoff: retry.backoff
          ? {
              initial_delay: await this.#resolve(retry.backoff.initialDelay ?? null, scope, frame),
              max_delay: await this.#resolve(retry.backoff.maxDelay ?? null, scope, frame),
              multiplier: await this.#resolve(retry.backoff.multiplier ?? null, scope, frame),
            }
          : null,
      };
    }
    if (!isMap(raw)) throw typeError(`a retry policy must be a map, got ${typeName(raw)}`);
    const max = raw.max_retries ?? 0;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0)
      throw valueError(`retry max_retries must be a non-negative integer, got ${safeStringify(max)}`);
    const b = isMap(raw.backoff ?? null) ? (raw.backoff as MapValue) : {};
    const n = (v: Value | undefined, d: number, what: string) => {
      if (v === undefined || v === null) return d;
      if (typeof v !== 'number' || v < 0)
        throw valueError(`retry backoff ${what} must be a non-negative number`);
      return v;
    };
    return {
      predicate: raw.predicate ?? null,
      maxRetries: max,
      initialDelay: n(b.initial_delay, 1, 'initial_delay'),
      maxDelay: n(b.max_delay, 60, 'max_delay'),
      multiplier: n(b.multiplier, 1.25, 'multiplier'),
    };
  }

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
          const policy = await this.#retryPolicy(retry, scope, frame);
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
          if (except.as) this.#set(scope, except.as, e.value);
          return this.#runSteps(except.steps, scope, frame);
        }
        throw e;
      }
    }
  }
}

/** A literal from the definition (YAML data) as a value. */
function toValue(v: unknown): Value {
  if (v === undefined) return null;
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(toValue);
  if (typeof v === 'object') {
    const out: MapValue = {};
    for (const [k, x] of Object.entries(v)) out[k] = toValue(x);
    return out;
  }
  return String(v);
}
