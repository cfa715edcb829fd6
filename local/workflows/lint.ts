/**
 * The Workflows linter: the JSON Schema of the supported syntax (schema.ts), the compiler's
 * structural checks, and semantic checks - unknown `next` targets, undefined subworkflows and
 * functions, blocking calls inside expressions, `break`/`continue` outside loops, wrong call
 * arguments, duplicate and unreachable steps. Every problem names its line and step.
 */
import type { ErrorObject } from 'ajv';
import { compile } from '#core/schema.ts';
import { loadWorkflow, type Routine, type Step, type Workflow } from './definition.ts';
import { expressionText, type Node, parseExpression } from './expr.ts';
import { WORKFLOW_SCHEMA } from './schema.ts';
import { type Pos, type Problem, posOf, type Source } from './source.ts';
import { CONSTANTS, isLibraryName, LIBRARY } from './stdlib.ts';

export interface LintResult {
  workflow: Workflow;
  problems: Problem[];
}

/** Lints a definition text; problems are sorted by line. */
export function lintWorkflow(text: string): LintResult {
  const workflow = loadWorkflow(text);
  const problems: Problem[] = [...workflow.problems];
  if (workflow.source.problems.length === 0) {
    const seen = new Set(problems.map((p) => p.line));
    for (const p of schemaProblems(workflow.source)) if (!seen.has(p.line)) problems.push(p);
    problems.push(...new Semantic(workflow).run());
  }
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  const unique = new Map<string, Problem>();
  for (const p of problems) unique.set(`${p.line}:${p.message}`, p);
  return { workflow, problems: [...unique.values()] };
}

/** `file:line:col: [warning: ]step "x": message` */
export function formatProblem(file: string, p: Problem): string {
  return `${file}:${p.line}:${p.col}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
}

/** Problems that stop a deploy (warnings do not: the cloud accepts those files). */
export function errorsOf(problems: readonly Problem[]): Problem[] {
  return problems.filter((p) => p.severity !== 'warning');
}

function schemaProblems(src: Source): Problem[] {
  const validate = compile(WORKFLOW_SCHEMA);
  if (validate(src.value)) return [];
  const errors = (validate.errors ?? []).filter(
    // anyOf / if-then branches repeat their members' errors; keep the specific ones.
    (e) => e.keyword !== 'anyOf' && e.keyword !== 'if',
  );
  const out: Problem[] = [];
  for (const e of errors) out.push(schemaProblem(src, e));
  return out;
}

function schemaProblem(src: Source, e: ErrorObject): Problem {
  const segs = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let cur: unknown = src.value;
  let parent: unknown;
  let lastKey: string | undefined;
  let step: string | undefined;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] as string;
    parent = cur;
    lastKey = seg;
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (typeof cur === 'object' && cur !== null) {
      // A single-key map inside a steps list: the key is a step name.
      if (
        Array.isArray(parent) ||
        (i > 0 && /^\d+$/.test(segs[i - 1] as string) && Object.keys(cur).length === 1)
      )
        step = seg;
      cur = (cur as Record<string, unknown>)[seg];
    }
  }
  let pos: Pos;
  let what: string;
  const where = segs.length ? segs.join('.') : '(root)';
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      pos = posOf(src, cur, key);
      what = `unsupported construct "${key}" in ${where}`;
      break;
    }
    case 'required':
      pos = posOf(src, cur);
      what = `${where} needs "${(e.params as { missingProperty: string }).missingProperty}"`;
      break;
    case 'enum':
      pos = posOf(src, parent, lastKey);
      what = `${where} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
      break;
    case 'minProperties':
    case 'maxProperties':
      pos = posOf(src, cur);
      what = `${where}: a step (or assignment, or branch) is a map with exactly one key`;
      break;
    default:
      pos = typeof cur === 'object' && cur !== null ? posOf(src, cur) : posOf(src, parent, lastKey);
      what = `${where} ${e.message ?? 'is invalid'}`;
  }
  const p: Problem = { line: pos.line, col: pos.col, message: step ? `step "${step}": ${what}` : what };
  if (step) p.step = step;
  return p;
}

interface ListCtx {
  /** Step lists a `next` may jump to, innermost first (stops at loop / branch / routine bounds). */
  lists: Step[][];
  inLoop: boolean;
  inParallel: boolean;
}

class Semantic {
  readonly #wf: Workflow;
  readonly #problems: Problem[] = [];
  #routine!: Routine;

  constructor(wf: Workflow) {
    this.#wf = wf;
  }

  run(): Problem[] {
    for (const r of this.#wf.routines.values()) {
      this.#routine = r;
      this.#collectNames(r.steps);
      this.#list(r.steps, { lists: [r.steps], inLoop: false, inParallel: false });
    }
    return this.#problems;
  }

  #problem(step: Step, message: string, pos: Pos = step.pos, severity?: 'warning'): void {
    const p: Problem = {
      line: pos.line,
      col: pos.col,
      step: step.name,
      message: `step "${step.name}": ${message}`,
    };
    if (severity) p.severity = severity;
    this.#problems.push(p);
  }

  #collectNames(steps: Step[]): void {
    const local = new Set<string>();
    for (const s of steps) {
      if (local.has(s.name))
        this.#problem(
          s,
          `another step in the same list is also named "${s.name}"; next targets would be ambiguous`,
          s.pos,
          'warning',
        );
      local.add(s.name);
      for (const child of childLists(s)) this.#collectNames(child);
    }
  }

  #list(steps: Step[], ctx: ListCtx): void {
    // Reachability: the first step, steps after one that falls through, and jump targets.
    const targeted = new Set<string>();
    const collect = (list: Step[]) => {
      for (const s of list) {
        for (const t of jumpTargets(s)) targeted.add(t);
        for (const c of childLists(s)) collect(c);
      }
    };
    collect(this.#routine.steps);
    let fallsInto = true;
    for (const s of steps) {
      if (!fallsInto && !targeted.has(s.name))
        this.#problem(s, 'unreachable: no step falls through or jumps to it', s.pos, 'warning');
      fallsInto = !leavesUnconditionally(s);
      this.#step(s, ctx);
    }
  }

  #checkNext(step: Step, target: string, ctx: ListCtx, pos?: Pos): void {
    if (target === 'end') return;
    if (target === 'break' || target === 'continue') {
      if (!ctx.inLoop) this.#problem(step, `"next: ${target}" is only allowed inside a for loop`, pos);
      else if (ctx.inParallel && target === 'break')
        this.#problem(step, '"next: break" is not supported inside a parallel for', pos);
      return;
    }
    if (ctx.lists.some((l) => l.some((s) => s.name === target))) return;
    const here = (ctx.lists[0] ?? []).map((s) => s.name).join(', ');
    this.#problem(step, `next target "${target}" is not a step it can reach (steps here: ${here})`, pos);
  }

  #step(s: Step, ctx: ListCtx): void {
    if (s.next !== undefined) this.#checkNext(s, s.next, ctx);
    for (const v of valuesOf(s)) this.#expressions(s, v);
    const inner = (steps: Step[], over: Partial<ListCtx> = {}): void =>
      this.#list(steps, { ...ctx, lists: [steps, ...ctx.lists], ...over });
    switch (s.kind) {
      case 'call':
        this.#checkCall(s);
        break;
      case 'switch':
        for (const c of s.conditions) {
          if (c.next !== undefined) this.#checkNext(s, c.next, ctx, c.pos);
          if (c.body) this.#step({ ...c.body, pos: c.pos } as Step, { ...ctx });
        }
        break;
      case 'steps':
        inner(s.steps);
        break;
      case 'for':
        this.#list(s.loop.steps, { lists: [s.loop.steps], inLoop: true, inParallel: ctx.inParallel });
        break;
      case 'parallel':
        if (s.loop) this.#list(s.loop.steps, { lists: [s.loop.steps], inLoop: true, inParallel: true });
        for (const b of s.branches ?? [])
          this.#list(b.steps, { lists: [b.steps], inLoop: false, inParallel: true });
        break;
      case 'try':
        if (s.inline && s.body[0]) this.#step(s.body[0], ctx);
        else inner(s.body);
        if (s.except) inner(s.except.steps);
        break;
      case 'return':
        if (ctx.inParallel) this.#problem(s, 'return is not allowed inside a parallel branch');
        break;
      default:
        break;
    }
  }

  #checkCall(s: Step & { kind: 'call' }): void {
    const routine = this.#wf.routines.get(s.call);
    const args = Object.keys(s.args ?? {});
    if (routine) {
      for (const a of args)
        if (!routine.params.some((p) => p.name === a))
          this.#problem(s, `subworkflow "${s.call}" has no parameter "${a}"`);
      for (const p of routine.params)
        if (!p.hasDefault && !args.includes(p.name) && routine.name !== 'main')
          this.#problem(s, `calling "${s.call}" without its required parameter "${p.name}"`);
      return;
    }
    const fn = LIBRARY[s.call];
    if (!fn) {
      const hint = s.call.startsWith('googleapis.')
        ? ' (connectors are not supported locally; call the REST API with http.* and auth: {type: OAuth2})'
        : '';
      this.#problem(s, `call to undefined subworkflow or unsupported function "${s.call}"${hint}`);
      return;
    }
    for (const a of args)
      if (!fn.params.includes(a))
        this.#problem(s, `${s.call} has no argument "${a}" (arguments: ${fn.params.join(', ') || 'none'})`);
    for (const p of fn.params.slice(0, fn.required))
      if (!args.includes(p)) this.#problem(s, `${s.call} needs the argument "${p}"`);
  }

  #expressions(s: Step, v: unknown): void {
    const text = expressionText(v);
    if (text !== undefined) {
      let node: Node;
      try {
        node = parseExpression(text);
      } catch {
        return; // the compiler already reported the syntax error
      }
      this.#node(s, node);
      return;
    }
    if (Array.isArray(v)) for (const x of v) this.#expressions(s, x);
    else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) this.#expressions(s, x);
  }

  #node(s: Step, n: Node): void {
    switch (n.k) {
      case 'call': {
        if (this.#wf.routines.has(n.callee)) break;
        const fn = LIBRARY[n.callee];
        if (!fn) this.#problem(s, `expression calls undefined function "${n.callee}"`);
        else if (fn.blocking)
          this.#problem(
            s,
            `${n.callee} is a blocking call and cannot be used in an expression; use a call step`,
          );
        else if (n.args.length > fn.params.length || n.args.length < fn.required)
          this.#problem(
            s,
            `${n.callee} takes ${fn.required}-${fn.params.length} argument(s), got ${n.args.length}`,
          );
        for (const a of n.args) this.#node(s, a);
        break;
      }
      case 'member': {
        const name = dotted(n);
        if (name && !name.includes('.')) break;
        if (name) {
          const root = name.split('.')[0] as string;
          // `http.default_retry` etc.; a variable named like a module is resolved at run time.
          if (isLibraryName(root) && !(name in CONSTANTS) && !(name in LIBRARY) && !isLibraryName(name))
            this.#problem(s, `"${name}" is not a supported library value or function`);
          break;
        }
        this.#node(s, n.obj);
        break;
      }
      case 'index':
        this.#node(s, n.obj);
        this.#node(s, n.index);
        break;
      case 'un':
        this.#node(s, n.a);
        break;
      case 'bin':
        this.#node(s, n.a);
        this.#node(s, n.b);
        break;
      case 'list':
        for (const x of n.items) this.#node(s, x);
        break;
      case 'map':
        for (const [k, v] of n.entries) {
          this.#node(s, k);
          this.#node(s, v);
        }
        break;
      default:
        break;
    }
  }
}

function dotted(n: Node): string | undefined {
  if (n.k === 'var') return n.name;
  if (n.k === 'member') {
    const b = dotted(n.obj);
    return b === undefined ? undefined : `${b}.${n.name}`;
  }
  return undefined;
}

function childLists(s: Step): Step[][] {
  switch (s.kind) {
    case 'steps':
      return [s.steps];
    case 'for':
      return [s.loop.steps];
    case 'parallel':
      return [...(s.loop ? [s.loop.steps] : []), ...(s.branches ?? []).map((b) => b.steps)];
    case 'try':
      return [s.body, ...(s.except ? [s.except.steps] : [])];
    case 'switch':
      return s.conditions.flatMap((c) => (c.body ? childLists(c.body) : []));
    default:
      return [];
  }
}

function jumpTargets(s: Step): string[] {
  const out: string[] = [];
  if (s.next) out.push(s.next);
  if (s.kind === 'switch') for (const c of s.conditions) if (c.next) out.push(c.next);
  return out;
}

/** Whether control never falls through to the following step. */
function leavesUnconditionally(s: Step): boolean {
  if (s.next !== undefined) return true;
  if (s.kind === 'return' || s.kind === 'raise') return true;
  return false;
}

/** The raw values of a step that may hold expressions. */
function valuesOf(s: Step): unknown[] {
  switch (s.kind) {
    case 'assign':
      return s.assign.map((a) => a.value);
    case 'call':
      return [s.args ?? null];
    case 'switch':
      return s.conditions.map((c) => c.condition);
    case 'for':
      return [s.loop.in ?? null, s.loop.range ?? null];
    case 'parallel':
      return [s.concurrencyLimit ?? null, s.loop?.in ?? null, s.loop?.range ?? null];
    case 'try':
      return s.retry
        ? [
            s.retry.policy ?? null,
            s.retry.predicate ?? null,
            s.retry.maxRetries ?? null,
            s.retry.backoff ?? null,
          ]
        : [];
    case 'raise':
    case 'return':
      return [s.value];
    default:
      return [];
  }
}

export { posOf };
