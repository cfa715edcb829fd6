/**
 * Workflows variables: the scopes they live in (a routine, a for loop's body, a parallel branch,
 * whose writes outside need \`shared\`), the 512 KB memory cap counted over every live variable,
 * and assignment with its paths (\`a.b[0]\`) and the turn-taking on a shared variable that makes each
 * assignment atomic across branches.
 */
import type { AssignItem } from './definition.ts';
import type { Node } from './expr.ts';
import {
  clone,
  indexError,
  isMap,
  keyError,
  sizeOf,
  tagged,
  typeError,
  typeName,
  type Value,
} from './values.ts';

export class Scope {
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

/** How an assignment evaluates what it needs: its value, and the index expressions of its path. */
export interface Evaluator {
  resolve(v: unknown): Promise<Value>;
  evaluate(n: Node): Promise<Value>;
}

/** One execution's variables: their memory, counted against the limit, and the shared-variable turns. */
export class Variables {
  #memory = 0;
  readonly #memoryLimit: number;
  readonly #locks = new WeakMap<Scope, Map<string, Promise<void>>>();

  constructor(memoryLimit: number) {
    this.#memoryLimit = memoryLimit;
  }

  define(scope: Scope, name: string, value: Value): void {
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

  release(scope: Scope): void {
    this.#memory -= scope.total;
    scope.sizes.clear();
  }

  /** Assigns a whole variable with Workflows scoping (loop-local unless it already exists outside). */
  set(scope: Scope, name: string, value: Value): void {
    const owner = scope.owner(name);
    if (owner) {
      if (owner.crossesBranch && !owner.sharedOk)
        throw tagged(
          'SystemError',
          `variable "${name}" is assigned in a parallel branch but is not listed in "shared"`,
        );
      this.define(owner.scope, name, value);
      return;
    }
    this.define(scope, name, value);
  }

  /**
   * Each assignment to a shared variable is atomic, as in the cloud: branches take turns on the
   * variable from reading it in the expression to writing it back.
   */
  async assign(item: AssignItem, scope: Scope, ev: Evaluator): Promise<void> {
    const owner = scope.owner(item.root);
    if (!owner?.crossesBranch) return this.#assignNow(item, scope, ev);
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
      await this.#assignNow(item, scope, ev);
    } finally {
      release();
      if (locks.get(item.root) === chain) locks.delete(item.root);
    }
  }

  async #assignNow(item: AssignItem, scope: Scope, ev: Evaluator): Promise<void> {
    const value = clone(await ev.resolve(item.value));
    if (item.path.k === 'var') {
      this.set(scope, item.root, value);
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
    const updated = await this.#setPath(root, item.path, value, ev, item.target);
    this.define(owner.scope, item.root, updated);
  }

  /** Returns `container` with the value at `path` replaced (creating missing map keys). */
  async #setPath(root: Value, path: Node, value: Value, ev: Evaluator, text: string): Promise<Value> {
    const chain: { key: string | number }[] = [];
    let n: Node = path;
    while (n.k === 'member' || n.k === 'index') {
      if (n.k === 'member') chain.unshift({ key: n.name });
      else {
        const k = await ev.evaluate(n.index);
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
}
