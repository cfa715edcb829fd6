/**
 * Compiles a workflow definition (the parsed YAML) into routines and steps the interpreter runs.
 * Structural problems are collected with their step and line, never thrown: the linter reports them
 * all, and the interpreter refuses to run a definition that has any (as a deploy would).
 */
import { ExpressionSyntaxError, expressionText, type Node, parseExpression } from './expr.ts';
import { type Pos, type Problem, posOf, readSource, type Source } from './source.ts';

export interface Param {
  name: string;
  hasDefault: boolean;
  default?: unknown;
}

export interface Routine {
  name: string;
  params: Param[];
  steps: Step[];
  pos: Pos;
}

export interface AssignItem {
  /** The text of the left-hand side (`a`, `a.b`, `a["k"][0]`). */
  target: string;
  /** The root variable the assignment writes. */
  root: string;
  path: Node;
  value: unknown;
}

export interface RetryDef {
  /** An expression (`${http.default_retry}`) evaluating to a policy map, or the map itself. */
  policy?: unknown;
  predicate?: unknown;
  maxRetries?: unknown;
  backoff?: { initialDelay?: unknown; maxDelay?: unknown; multiplier?: unknown };
}

export interface ForDef {
  value?: string;
  index?: string;
  in?: unknown;
  range?: unknown;
  steps: Step[];
}

export interface Condition {
  condition: unknown;
  pos: Pos;
  next?: string;
  /** What to do when the condition holds (besides `next`): an inline step body. */
  body?: Step;
}

export type StepKind =
  | { kind: 'assign'; assign: AssignItem[] }
  | { kind: 'call'; call: string; args?: Record<string, unknown>; result?: string }
  | { kind: 'switch'; conditions: Condition[] }
  | { kind: 'for'; loop: ForDef }
  | {
      kind: 'parallel';
      shared: string[];
      exceptionPolicy?: string;
      concurrencyLimit?: unknown;
      branches?: { name: string; steps: Step[]; pos: Pos }[];
      loop?: ForDef;
    }
  | {
      kind: 'try';
      body: Step[];
      /** `try: {call: ...}`: the body is this very step, not a list of steps. */
      inline: boolean;
      retry?: RetryDef;
      except?: { as?: string; steps: Step[] };
    }
  | { kind: 'raise'; value: unknown }
  | { kind: 'return'; value: unknown }
  | { kind: 'steps'; steps: Step[] }
  | { kind: 'next' };

export type Step = StepKind & { name: string; pos: Pos; next?: string; routine: string };

export interface Workflow {
  routines: Map<string, Routine>;
  source: Source;
  problems: Problem[];
}

const BODY_KEYS = ['assign', 'call', 'switch', 'for', 'parallel', 'try', 'raise', 'return', 'steps'] as const;
const ALLOWED_WITH: Record<string, string[]> = {
  assign: ['next'],
  call: ['args', 'result', 'next'],
  switch: ['next'],
  for: [],
  parallel: [],
  try: ['retry', 'except'],
  raise: [],
  return: [],
  steps: ['next'],
};

/** Parses and compiles a definition; `problems` is empty when it can run. */
export function loadWorkflow(text: string): Workflow {
  const source = readSource(text);
  const wf: Workflow = { routines: new Map(), source, problems: [...source.problems] };
  if (source.problems.length > 0) return wf;
  new Compiler(wf).compile(source.value);
  return wf;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Compiler {
  #wf: Workflow;
  #routine = 'main';
  constructor(wf: Workflow) {
    this.#wf = wf;
  }

  problem(pos: Pos, message: string, step?: string): void {
    const p: Problem = { line: pos.line, col: pos.col, message };
    if (step !== undefined) p.step = step;
    this.#wf.problems.push(p);
  }

  pos(obj: unknown, key?: string): Pos {
    return posOf(this.#wf.source, obj, key);
  }

  compile(def: unknown): void {
    if (Array.isArray(def)) {
      this.#routine = 'main';
      this.#wf.routines.set('main', {
        name: 'main',
        params: [],
        steps: this.steps(def, 'main'),
        pos: this.pos(def),
      });
      return;
    }
    if (!isObj(def)) {
      this.problem({ line: 1, col: 1 }, 'a workflow is a list of steps or a map of subworkflows with "main"');
      return;
    }
    if (!('main' in def))
      this.problem(this.pos(def), 'no "main" workflow: a map of subworkflows needs a "main" entry');
    for (const [name, body] of Object.entries(def)) {
      this.#routine = name;
      const pos = this.pos(def, name);
      if (!isObj(body)) {
        this.problem(pos, `subworkflow "${name}" must be a map with "steps" (and optional "params")`);
        continue;
      }
      for (const k of Object.keys(body))
        if (k !== 'steps' && k !== 'params')
          this.problem(
            this.pos(body, k),
            `subworkflow "${name}": unsupported key "${k}" (expected params, steps)`,
          );
      const params = this.params(body.params, name, this.pos(body, 'params'));
      if (name === 'main' && params.length > 1)
        this.problem(pos, 'main takes at most one parameter (the execution argument)');
      if (!Array.isArray(body.steps)) {
        this.problem(pos, `subworkflow "${name}" has no "steps" list`);
        continue;
      }
      this.#wf.routines.set(name, { name, params, steps: this.steps(body.steps, name), pos });
    }
  }

  params(raw: unknown, routine: string, at: Pos): Param[] {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) {
      this.problem(at, `params of "${routine}" must be a list`);
      return [];
    }
    const out: Param[] = [];
    for (const p of raw) {
      if (typeof p === 'string') out.push({ name: p, hasDefault: false });
      else if (isObj(p) && Object.keys(p).length === 1) {
        const [name, dflt] = Object.entries(p)[0] as [string, unknown];
        out.push({ name, hasDefault: true, default: dflt });
      } else this.problem(this.pos(raw), `params of "${routine}": each is a name or {name: default}`);
    }
    return out;
  }

  steps(raw: unknown, where: string): Step[] {
    if (!Array.isArray(raw)) {
      this.problem(this.pos(raw), `${where}: "steps" must be a list of steps`);
      return [];
    }
    const out: Step[] = [];
    for (const item of raw) {
      if (!isObj(item) || Object.keys(item).length !== 1) {
        this.problem(
          isObj(item) ? this.pos(item) : this.pos(raw),
          `${where}: each step is a map with exactly one key, its name`,
        );
        continue;
      }
      const [name, body] = Object.entries(item)[0] as [string, unknown];
      const step = this.step(name, body, this.pos(item, name));
      if (step) out.push(step);
    }
    return out;
  }

  step(name: string, body: unknown, pos: Pos): Step | undefined {
    if (!isObj(body)) {
      this.problem(pos, `step "${name}" must be a map (e.g. assign, call, switch, return)`, name);
      return undefined;
    }
    const kinds = BODY_KEYS.filter((k) => k in body);
    const next = body.next;
    if (next !== undefined && typeof next !== 'string')
      this.problem(this.pos(body, 'next'), 'next must be a step name', name);
    if (kinds.length > 1) {
      this.problem(pos, `step "${name}" mixes ${kinds.join(' and ')}; use one per step`, name);
      return undefined;
    }
    const kind = kinds[0];
    const allowed = kind ? ['next', ...ALLOWED_WITH[kind]!, kind] : ['next'];
    for (const k of Object.keys(body))
      if (!allowed.includes(k))
        this.problem(
          this.pos(body, k),
          kind
            ? `step "${name}": "${k}" is not supported with ${kind}`
            : `step "${name}": unsupported construct "${k}"`,
          name,
        );
    const base = { name, pos, routine: this.#routine, ...(typeof next === 'string' ? { next } : {}) };
    switch (kind) {
      case undefined:
        if (next === undefined)
          this.problem(pos, `step "${name}" does nothing (no assign, call, switch, ...)`, name);
        return { ...base, kind: 'next' };
      case 'assign':
        return { ...base, kind: 'assign', assign: this.assign(body.assign, name) };
      case 'call': {
        if (typeof body.call !== 'string') {
          this.problem(
            this.pos(body, 'call'),
            `step "${name}": call needs a function or subworkflow name`,
            name,
          );
          return undefined;
        }
        if (body.args !== undefined && !isObj(body.args))
          this.problem(this.pos(body, 'args'), `step "${name}": args must be a map`, name);
        if (
          body.result !== undefined &&
          (typeof body.result !== 'string' || !/^[A-Za-z_]\w*$/.test(body.result))
        )
          this.problem(this.pos(body, 'result'), `step "${name}": result must be a variable name`, name);
        this.expressions(body.args, name);
        const s: Step = { ...base, kind: 'call', call: body.call };
        if (isObj(body.args)) s.args = body.args;
        if (typeof body.result === 'string') s.result = body.result;
        return s;
      }
      case 'switch':
        return { ...base, kind: 'switch', conditions: this.switch(body.switch, name) };
      case 'for':
        return { ...base, kind: 'for', loop: this.forLoop(body.for, name) };
      case 'parallel':
        return this.parallel(base, body.parallel, name);
      case 'try':
        return this.tryStep(base, body, name);
      case 'raise':
        this.expressions(body.raise, name, this.pos(body, 'raise'));
        return { ...base, kind: 'raise', value: body.raise };
      case 'return':
        this.expressions(body.return, name, this.pos(body, 'return'));
        return { ...base, kind: 'return', value: body.return };
      case 'steps':
        return { ...base, kind: 'steps', steps: this.steps(body.steps, `step "${name}"`) };
    }
    return undefined;
  }

  assign(raw: unknown, step: string): AssignItem[] {
    if (!Array.isArray(raw)) {
      this.problem(this.pos(raw), `step "${step}": assign must be a list of {variable: value}`, step);
      return [];
    }
    const out: AssignItem[] = [];
    for (const item of raw) {
      if (!isObj(item) || Object.keys(item).length !== 1) {
        this.problem(this.pos(raw), `step "${step}": each assignment is a single {variable: value}`, step);
        continue;
      }
      const [target, value] = Object.entries(item)[0] as [string, unknown];
      const pos = this.pos(item, target);
      let path: Node;
      try {
        path = parseExpression(target);
      } catch (e) {
        this.problem(pos, `step "${step}": cannot assign to "${target}": ${(e as Error).message}`, step);
        continue;
      }
      const root = rootOf(path);
      if (root === undefined) {
        this.problem(pos, `step "${step}": cannot assign to "${target}": not a variable, key or index`, step);
        continue;
      }
      this.expressions(value, step, pos);
      out.push({ target, root, path, value });
    }
    return out;
  }

  switch(raw: unknown, step: string): Condition[] {
    if (!Array.isArray(raw) || raw.length === 0) {
      this.problem(this.pos(raw), `step "${step}": switch must be a non-empty list of conditions`, step);
      return [];
    }
    const out: Condition[] = [];
    for (const c of raw) {
      const pos = this.pos(c);
      if (!isObj(c) || !('condition' in c)) {
        this.problem(
          isObj(c) ? pos : this.pos(raw),
          `step "${step}": each switch entry needs a condition`,
          step,
        );
        continue;
      }
      this.expressions(c.condition, step, this.pos(c, 'condition'));
      const cond: Condition = { condition: c.condition, pos };
      if (typeof c.next === 'string') cond.next = c.next;
      else if (c.next !== undefined) this.problem(this.pos(c, 'next'), 'next must be a step name', step);
      const rest = Object.fromEntries(Object.entries(c).filter(([k]) => k !== 'condition' && k !== 'next'));
      const kinds = Object.keys(rest);
      if (kinds.length > 0) {
        for (const k of kinds)
          if (!['steps', 'assign', 'raise', 'return', 'call', 'args', 'result'].includes(k))
            this.problem(
              this.pos(c, k),
              `step "${step}": "${k}" is not supported in a switch condition`,
              step,
            );
        const known = Object.fromEntries(
          Object.entries(rest).filter(([k]) =>
            ['steps', 'assign', 'raise', 'return', 'call', 'args', 'result'].includes(k),
          ),
        );
        if (Object.keys(known).length > 0) {
          // Keep the positions of the original map for the inline body.
          const src = this.#wf.source;
          const kp = src.keyPositions.get(c);
          if (kp) src.keyPositions.set(known, kp);
          src.positions.set(known, pos);
          const body = this.step(step, known, pos);
          if (body) cond.body = body;
        }
      }
      out.push(cond);
    }
    return out;
  }

  forLoop(raw: unknown, step: string): ForDef {
    if (!isObj(raw)) {
      this.problem(
        this.pos(raw),
        `step "${step}": for must be a map with value, in or range, and steps`,
        step,
      );
      return { steps: [] };
    }
    for (const k of Object.keys(raw))
      if (!['value', 'index', 'in', 'range', 'steps'].includes(k))
        this.problem(this.pos(raw, k), `step "${step}": "${k}" is not supported in for`, step);
    const def: ForDef = { steps: this.steps(raw.steps, `step "${step}"`) };
    if (typeof raw.value === 'string') def.value = raw.value;
    if (typeof raw.index === 'string') def.index = raw.index;
    if (def.value === undefined && def.index === undefined)
      this.problem(this.pos(raw), `step "${step}": for needs value (or index)`, step);
    if ('in' in raw === 'range' in raw)
      this.problem(this.pos(raw), `step "${step}": for needs exactly one of in and range`, step);
    if ('in' in raw) def.in = raw.in;
    if ('range' in raw) {
      def.range = raw.range;
      if (Array.isArray(raw.range) && raw.range.length !== 2)
        this.problem(this.pos(raw, 'range'), `step "${step}": range is [start, end] (inclusive)`, step);
    }
    this.expressions(raw.in, step, this.pos(raw, 'in'));
    this.expressions(raw.range, step, this.pos(raw, 'range'));
    return def;
  }

  parallel(base: Omit<Step, 'kind'>, raw: unknown, step: string): Step | undefined {
    if (!isObj(raw)) {
      this.problem(base.pos, `step "${step}": parallel must be a map with branches or for`, step);
      return undefined;
    }
    for (const k of Object.keys(raw))
      if (!['shared', 'exception_policy', 'concurrency_limit', 'branches', 'for'].includes(k))
        this.problem(this.pos(raw, k), `step "${step}": "${k}" is not supported in parallel`, step);
    const shared = Array.isArray(raw.shared)
      ? raw.shared.filter((s): s is string => typeof s === 'string')
      : [];
    if (raw.exception_policy !== undefined && raw.exception_policy !== 'continueAll')
      this.problem(
        this.pos(raw, 'exception_policy'),
        `step "${step}": exception_policy "${String(raw.exception_policy)}" is not supported (only continueAll)`,
        step,
      );
    if ('branches' in raw === 'for' in raw) {
      this.problem(base.pos, `step "${step}": parallel needs exactly one of branches and for`, step);
      return undefined;
    }
    const s: Step = { ...(base as Step), kind: 'parallel', shared };
    if (raw.exception_policy !== undefined) s.exceptionPolicy = String(raw.exception_policy);
    if (raw.concurrency_limit !== undefined) s.concurrencyLimit = raw.concurrency_limit;
    if ('for' in raw) s.loop = this.forLoop(raw.for, step);
    else {
      if (!Array.isArray(raw.branches) || raw.branches.length < 2) {
        this.problem(
          this.pos(raw, 'branches'),
          `step "${step}": parallel branches needs at least two branches`,
          step,
        );
      }
      s.branches = [];
      for (const b of Array.isArray(raw.branches) ? raw.branches : []) {
        if (!isObj(b) || Object.keys(b).length !== 1) {
          this.problem(
            this.pos(raw, 'branches'),
            `step "${step}": each branch is {name: {steps: [...]}}`,
            step,
          );
          continue;
        }
        const [bname, bbody] = Object.entries(b)[0] as [string, unknown];
        if (!isObj(bbody) || !Array.isArray(bbody.steps)) {
          this.problem(this.pos(b, bname), `branch "${bname}" needs a steps list`, bname);
          continue;
        }
        s.branches.push({
          name: bname,
          steps: this.steps(bbody.steps, `branch "${bname}"`),
          pos: this.pos(b, bname),
        });
      }
    }
    return s;
  }

  tryStep(base: Omit<Step, 'kind'>, body: Record<string, unknown>, step: string): Step {
    const t = body.try;
    let inner: Step[] = [];
    let inline = false;
    if (isObj(t) && 'steps' in t && Object.keys(t).length === 1)
      inner = this.steps(t.steps, `step "${step}"`);
    else {
      const s = this.step(step, t, base.pos);
      if (s) inner = [s];
      inline = true;
    }
    const out: Step = { ...(base as Step), kind: 'try', body: inner, inline };
    if (body.retry !== undefined) {
      const r = body.retry;
      if (expressionText(r) !== undefined) {
        this.expressions(r, step, this.pos(body, 'retry'));
        out.retry = { policy: r };
      } else if (isObj(r)) {
        for (const k of Object.keys(r))
          if (!['predicate', 'max_retries', 'backoff'].includes(k))
            this.problem(this.pos(r, k), `step "${step}": "${k}" is not supported in retry`, step);
        if (r.predicate === undefined)
          this.problem(this.pos(r), `step "${step}": retry needs a predicate`, step);
        this.expressions(r, step);
        const def: RetryDef = { predicate: r.predicate, maxRetries: r.max_retries };
        if (isObj(r.backoff))
          def.backoff = {
            initialDelay: r.backoff.initial_delay,
            maxDelay: r.backoff.max_delay,
            multiplier: r.backoff.multiplier,
          };
        out.retry = def;
      } else
        this.problem(
          this.pos(body, 'retry'),
          `step "${step}": retry must be a policy expression or map`,
          step,
        );
    }
    if (body.except !== undefined) {
      const e = body.except;
      if (!isObj(e) || !Array.isArray(e.steps))
        this.problem(this.pos(body, 'except'), `step "${step}": except needs steps (and optional as)`, step);
      else {
        for (const k of Object.keys(e))
          if (k !== 'as' && k !== 'steps')
            this.problem(this.pos(e, k), `step "${step}": "${k}" is not supported in except`, step);
        out.except = { steps: this.steps(e.steps, `step "${step}" except`) };
        if (typeof e.as === 'string') out.except.as = e.as;
      }
    }
    if (!out.retry && !out.except) this.problem(base.pos, `step "${step}": try needs retry or except`, step);
    return out;
  }

  /** Checks the syntax of every `${...}` inside a value. */
  expressions(v: unknown, step: string, at?: Pos): void {
    const text = expressionText(v);
    if (text !== undefined) {
      try {
        parseExpression(text);
      } catch (e) {
        if (e instanceof ExpressionSyntaxError)
          this.problem(
            at ?? { line: 0, col: 0 },
            `step "${step}": bad expression \${${text}}: ${e.message}`,
            step,
          );
        else throw e;
      }
      return;
    }
    if (Array.isArray(v)) for (const x of v) this.expressions(x, step, this.pos(v));
    else if (isObj(v)) for (const [k, x] of Object.entries(v)) this.expressions(x, step, this.pos(v, k));
  }
}

function rootOf(n: Node): string | undefined {
  if (n.k === 'var') return n.name;
  if (n.k === 'member' || n.k === 'index') return rootOf(n.obj);
  return undefined;
}
