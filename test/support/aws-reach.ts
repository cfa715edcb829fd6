/**
 * The AWS actions a Lambda handler's code can call, found statically: a call graph over the
 * TypeScript program (the TypeScript 7 checker, `typescript/unstable/sync`), walked from the
 * handler's export, collecting every SDK command constructed on the way (`new PutEventsCommand` ->
 * `events:PutEvents`, the project's own Interconnect commands -> `interconnect:<Op>` and its STS
 * AssumeRole command, functions/aws/sts.ts -> `sts:AssumeRole`).
 *
 * Per function, from its own entry (functions/aws/handlers/<function>.ts, which wires the ports it
 * uses): building a client is not calling it; what is called is followed through the dependency
 * ports by type, among the implementations the function's bundle holds:
 * - a call on a port (`deps.events.put`, `deps.tokens.success`, `deps.unwrap`) reaches every
 *   implementation of that member in the bundle's modules (class methods and object-literal
 *   members) whose container is assignable to the receiver's type;
 * - a call on a port whose value is a function (`deps.unwrap(...)`) reaches what the port's
 *   factories in the bundle return (`const unwrap: PortFactory<'unwrap'> = ...`, functions/aws/ports/);
 * - a closure returned by a function, or an object literal's member, is reached only through such
 *   a call, not where the function or literal is evaluated (`unwrap: kmsUnwrap(...)` builds the
 *   Decrypt closure; only `deps.unwrap(...)` runs it);
 * - callbacks passed as arguments and nested local functions count as called where they appear.
 *
 * What it cannot see (docs/aws-half.md, "IAM"): calls through a plain function-typed parameter
 * (the caller's references to the function are followed instead), calls the SDK makes by itself
 * (a credential provider: `assumedRoleServices` finds the clients built with assumed-role
 * credentials), and any value built by reflection. An SDK helper other than a command
 * (`paginateX`, a waiter, an aggregated client's method) is refused: map it first.
 */
import { resolve } from 'node:path';
import { build } from 'esbuild';
import {
  type Expression,
  type Identifier,
  isArrowFunction,
  isCallExpression,
  isClassDeclaration,
  isFunctionLikeDeclaration,
  isIdentifier,
  isMethodDeclaration,
  isNewExpression,
  isObjectLiteralExpression,
  isPrivateIdentifier,
  isPropertyAccessExpression,
  isPropertyAssignment,
  isReturnStatement,
  isShorthandPropertyAssignment,
  isStringLiteral,
  isTypeNode,
  type Node,
  SyntaxKind,
} from 'typescript/unstable/ast';
import { API, type Checker, SymbolFlags, type Symbol as TsSymbol, type Type } from 'typescript/unstable/sync';
import { BASE, OPTIONAL, PORTS } from '#aws/runtime.ts';

/** SDK package -> IAM service prefix. A package not listed is refused (add it with its prefix). */
const SERVICE_OF: Record<string, string> = {
  'client-eventbridge': 'events',
  'client-dynamodb': 'dynamodb',
  'lib-dynamodb': 'dynamodb',
  'client-sfn': 'states',
  'client-kms': 'kms',
  'client-secrets-manager': 'secretsmanager',
  'client-sts': 'sts',
  'client-direct-connect': 'directconnect',
  'client-sqs': 'sqs',
  'client-cloudwatch': 'cloudwatch',
  'client-cloudwatch-logs': 'logs',
  'client-ec2': 'ec2',
  'client-lambda': 'lambda',
  'client-route53-recovery-cluster': 'route53-recovery-cluster',
};

/**
 * Commands whose IAM action is not `<service>:<name without Command>`. The transactional ones are
 * authorised per item (PutItem, UpdateItem...), which a static look cannot tell: refused.
 */
const ACTION_OF: Record<string, string | null> = {
  'lib-dynamodb:GetCommand': 'dynamodb:GetItem',
  'lib-dynamodb:PutCommand': 'dynamodb:PutItem',
  'lib-dynamodb:DeleteCommand': 'dynamodb:DeleteItem',
  'lib-dynamodb:UpdateCommand': 'dynamodb:UpdateItem',
  'lib-dynamodb:BatchGetCommand': 'dynamodb:BatchGetItem',
  'lib-dynamodb:BatchWriteCommand': 'dynamodb:BatchWriteItem',
  'lib-dynamodb:TransactGetCommand': null,
  'lib-dynamodb:TransactWriteCommand': null,
  'client-dynamodb:TransactGetItemsCommand': null,
  'client-dynamodb:TransactWriteItemsCommand': null,
  'client-lambda:InvokeCommand': 'lambda:InvokeFunction',
  'client-sqs:SendMessageBatchCommand': 'sqs:SendMessage',
  'client-sqs:DeleteMessageBatchCommand': 'sqs:DeleteMessage',
  'client-sqs:ChangeMessageVisibilityBatchCommand': 'sqs:ChangeMessageVisibility',
};

/** Members of SDK clients a handler may use besides commands: none of them calls an API. */
const SDK_PLAIN_MEMBERS = new Set(['send', 'destroy', 'from', 'config', 'middlewareStack']);

/** SDK helpers that convert values and call no API (util-dynamodb's item conversion). */
const SDK_PLAIN_HELPERS = new Set(['util-dynamodb:marshall', 'util-dynamodb:unmarshall']);

/**
 * crosslink's own stand-in for lib-dynamodb (functions/aws/dynamodb-document.ts): its commands are
 * read as lib-dynamodb's (`new GetCommand` -> dynamodb:GetItem at the caller), and its `send`,
 * which dispatches every command it is given, is not followed, as the SDK's `send` is not.
 */
const DOCUMENT_FACADE = /\/functions\/aws\/dynamodb-document\.ts$/;

const SDK_PATH = /\/node_modules\/@aws-sdk\/([a-z0-9-]+)\//;

export interface Reach {
  /** Action -> one path of function names that reaches it (for messages). */
  actions: Map<string, string[]>;
  /**
   * What the function's code would use of `deps` that its bundle does not provide, each with a path:
   * a port its entry does not wire (`deps.tokens`: reading it throws), or a port member nothing in
   * the bundle implements (`halves.disableHalf`).
   */
  unwired: Map<string, string[]>;
  /**
   * Services whose clients this function's bundle builds with credentials from STS AssumeRole
   * (network accounts): calling one of them makes the function assume a role first.
   */
  assumedRoleServices: Set<string>;
}

export interface ReachAnalysis {
  /** What each function's handler can call, by function name. */
  handlers: Record<string, Reach>;
  /** Service prefixes whose clients may sign with credentials from STS AssumeRole (network accounts). */
  assumedRoleServices: Set<string>;
  /** SDK uses the analysis could not map to an action (a non-empty list is a failure). */
  unmapped: string[];
}

type Impl = { container: Node; member: Node };
type Edges = { actions: Set<string>; unwired: Set<string> };

const key = (n: Node) => `${n.getSourceFile().fileName}:${n.pos}:${n.kind}`;

function label(n: Node): string {
  const file = n.getSourceFile().fileName.replace(/^.*\/functions\//, '');
  const named = n as unknown as { name?: Node };
  let name =
    named.name && (isIdentifier(named.name) || isPrivateIdentifier(named.name)) ? named.name.text : '';
  if (
    !name &&
    n.parent &&
    (isPropertyAssignment(n.parent) || n.parent.kind === SyntaxKind.VariableDeclaration)
  ) {
    const pn = (n.parent as unknown as { name?: Node }).name;
    if (pn && isIdentifier(pn)) name = pn.text;
  }
  return `${file}:${name || '<anonymous>'}`;
}

const isSignature = (n: Node) =>
  n.kind === SyntaxKind.MethodSignature || n.kind === SyntaxKind.PropertySignature;

/** The ports a function's entry must wire to read them (runtime.ts: neither in `BASE` nor optional). */
const ENTRY_PORTS = new Set<string>(PORTS.filter((p) => !(p in BASE) && !OPTIONAL.has(p)));

/** `deps.tokens` -> 'tokens' for a port of runtime.ts `PORTS`; else undefined. */
function portOf(receiver: Node): string | undefined {
  if (
    isPropertyAccessExpression(receiver) &&
    isIdentifier(receiver.expression) &&
    receiver.expression.text === 'deps' &&
    isIdentifier(receiver.name) &&
    (PORTS as readonly string[]).includes(receiver.name.text)
  )
    return receiver.name.text;
  return undefined;
}

/** A function-like that sits where it is returned, or as an object literal's member: reached by dispatch only. */
function isDeferred(fn: Node): boolean {
  const p = fn.parent;
  if (!p) return false;
  if (isReturnStatement(p)) return true;
  if (isArrowFunction(p) && (p as unknown as { body: Node }).body === fn) return true;
  if (isPropertyAssignment(p) && p.initializer === fn) return true;
  if (isMethodDeclaration(fn) && isObjectLiteralExpression(p)) return true;
  return false;
}

/** The name a declaration gives (`{ unwrap: ... }`, `const x`), not a use of it. */
function isDeclarationName(n: Node): boolean {
  const p = n.parent;
  return (
    !!p && p.kind !== SyntaxKind.PropertyAccessExpression && (p as unknown as { name?: Node }).name === n
  );
}

/** Modules esbuild bundles for `entry` (absolute paths of the project's own sources). */
async function bundledModules(root: string, entry: string): Promise<Set<string>> {
  const out = await build({
    entryPoints: [resolve(root, entry)],
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
  });
  return new Set(Object.keys(out.metafile.inputs).map((p) => resolve(root, p)));
}

/** A Lambda function to analyse: its name and its `Handler` (`<module path without extension>.<export>`). */
export interface FunctionEntry {
  name: string;
  handler: string;
}

/**
 * Analyses each function from its own entry: the implementations a port call may reach are those of
 * the modules esbuild bundles for that entry, so a function is not given what only another
 * function's entry wires.
 */
export async function analyseHandlers(root: string, functions: FunctionEntry[]): Promise<ReachAnalysis> {
  const entries = functions.map((f) => {
    const dot = f.handler.lastIndexOf('.');
    return {
      name: f.name,
      file: resolve(root, `${f.handler.slice(0, dot)}.ts`),
      exportName: f.handler.slice(dot + 1),
    };
  });
  const modules = new Map<string, Set<string>>();
  for (const e of entries) if (!modules.has(e.file)) modules.set(e.file, await bundledModules(root, e.file));
  const api = new API({ cwd: root });
  try {
    const snapshot = api.updateSnapshot({ openProjects: [resolve(root, 'tsconfig.json')] });
    const project = snapshot.getProjects()[0];
    if (!project) throw new Error('tsconfig.json: no project');
    const out: ReachAnalysis = { handlers: {}, assumedRoleServices: new Set(), unmapped: [] };
    for (const [file, mods] of modules) {
      const here = entries.filter((e) => e.file === file);
      const one = new Analyser(project.program, project.checker, mods).run(
        file,
        here.map((e) => e.exportName),
      );
      for (const e of here) out.handlers[e.name] = one.handlers[e.exportName] as Reach;
      for (const s of one.assumedRoleServices) out.assumedRoleServices.add(s);
      out.unmapped.push(...one.unmapped.filter((u) => !out.unmapped.includes(u)));
    }
    out.unmapped.sort();
    return out;
  } finally {
    api.close();
  }
}

class Analyser {
  readonly #checker: Checker;
  readonly #sources: Node[];
  readonly #impls = new Map<string, Impl[]>();
  /** Port name -> the factories that build it (`const unwrap: PortFactory<'unwrap'> = ...`). */
  readonly #factories = new Map<string, Node[]>();
  readonly #unmapped = new Set<string>();
  readonly #program: { getSourceFile(f: string): Node | undefined };
  /** Per reached node: the actions it calls directly and the nodes it reaches. */
  readonly #edges = new Map<
    string,
    { node: Node; actions: Set<string>; unwired: Set<string>; next: Map<string, Node> }
  >();

  constructor(
    program: { getSourceFile(f: string): Node | undefined },
    checker: Checker,
    modules: Set<string>,
  ) {
    this.#checker = checker;
    this.#program = program;
    this.#sources = [...modules].flatMap((m) => program.getSourceFile(m) ?? []);
    for (const sf of this.#sources) this.#indexImplementations(sf);
  }

  run(file: string, exports: string[]): ReachAnalysis {
    const sf = this.#program.getSourceFile(file);
    if (!sf) throw new Error(`${file} is not in the program`);
    const handlers: Record<string, Reach> = {};
    for (const name of exports) {
      const decl = this.#exportedDeclaration(sf, name);
      if (!decl) throw new Error(`${file} exports no ${name}`);
      // Lambda calls the export's value: the closures its initialiser returns run too.
      const init = (decl as unknown as { initializer?: Node }).initializer;
      handlers[name] = {
        ...this.#closure([decl, ...(init ? this.#returnedClosures(init, 0) : [])]),
        assumedRoleServices: this.#assumedRoleServices(),
      };
    }
    return {
      handlers,
      assumedRoleServices: this.#assumedRoleServices(),
      unmapped: [...this.#unmapped].sort(),
    };
  }

  #exportedDeclaration(sf: Node, name: string): Node | undefined {
    let found: Node | undefined;
    sf.forEachChild((stmt) => {
      if (stmt.kind !== SyntaxKind.VariableStatement) return;
      stmt.forEachChild((list) =>
        list.forEachChild((d) => {
          const n = (d as unknown as { name?: Node }).name;
          if (n && isIdentifier(n) && n.text === name) found = d;
        }),
      );
    });
    return found;
  }

  /** Every action reachable from `root`, each with the path that reaches it. */
  #closure(roots: Node[]): Omit<Reach, 'assumedRoleServices'> {
    const actions = new Map<string, string[]>();
    const unwired = new Map<string, string[]>();
    const seen = new Set<string>(roots.map(key));
    const queue: [Node, string[]][] = roots.map((r) => [r, [label(r)]]);
    while (queue.length) {
      const [node, path] = queue.shift() as [Node, string[]];
      const e = this.#edgesOf(node);
      for (const a of e.actions) if (!actions.has(a)) actions.set(a, path);
      for (const u of e.unwired) if (!unwired.has(u)) unwired.set(u, path);
      for (const [k, n] of e.next) {
        if (seen.has(k)) continue;
        seen.add(k);
        queue.push([n, [...path, label(n)]]);
      }
    }
    return { actions, unwired };
  }

  #edgesOf(node: Node) {
    const k = key(node);
    const known = this.#edges.get(k);
    if (known) return known;
    const e = { node, actions: new Set<string>(), unwired: new Set<string>(), next: new Map<string, Node>() };
    this.#edges.set(k, e);
    const reach = (n: Node) => e.next.set(key(n), n);

    // A class: its constructor and field initialisers run on `new`.
    if (isClassDeclaration(node)) {
      for (const m of node.members) {
        if (m.kind === SyntaxKind.Constructor) reach(m);
        const init = (m as unknown as { initializer?: Node }).initializer;
        if (m.kind === SyntaxKind.PropertyDeclaration && init) this.#walk(init, e, reach);
      }
      return e;
    }
    // A variable: its initialiser is evaluated where the variable is used.
    const body =
      node.kind === SyntaxKind.VariableDeclaration
        ? (node as unknown as { initializer?: Node }).initializer
        : (node as unknown as { body?: Node }).body;
    if (body) this.#walk(body, e, reach);
    return e;
  }

  /** Walks code that runs when `root` runs: collects commands and the declarations it uses. */
  #walk(root: Node, e: Edges, reach: (n: Node) => void) {
    const names: Node[] = [];
    const visit = (n: Node) => {
      if (isTypeNode(n)) return;
      if (n !== root && isFunctionLikeDeclaration(n) && isDeferred(n)) return;
      if ((isIdentifier(n) || isPrivateIdentifier(n)) && !isDeclarationName(n)) names.push(n);
      n.forEachChild(visit);
    };
    // A body that is itself a returned closure (`(fn) => (input) => ...`) runs only when called.
    if (isFunctionLikeDeclaration(root) && isDeferred(root)) return;
    visit(root);
    if (!names.length) return;
    const symbols = this.#checker.getSymbolAtLocation(names);
    names.forEach((id, i) => {
      let s = symbols[i];
      if (!s) return;
      if (s.flags & SymbolFlags.Alias) s = this.#checker.getAliasedSymbol(s);
      this.#use(id, s, e, reach);
    });
  }

  #use(id: Node, s: TsSymbol, e: Edges, reach: (n: Node) => void) {
    const parent = id.parent;
    const isNew = !!parent && isNewExpression(parent) && parent.expression === id;
    const member = !!parent && isPropertyAccessExpression(parent) && parent.name === id;
    for (const handle of s.declarations) {
      const path = handle.path as string;
      const sdk = SDK_PATH.exec(path);
      if (sdk) {
        this.#sdkUse(sdk[1] as string, s.name, handle.kind, isNew, e);
        continue;
      }
      if (DOCUMENT_FACADE.test(path)) {
        this.#sdkUse('lib-dynamodb', s.name, handle.kind, isNew, e);
        continue;
      }
      if (path.includes('/node_modules/') || path.endsWith('.d.ts')) continue;
      const decl = handle.resolve();
      if (!decl) continue;
      switch (decl.kind) {
        case SyntaxKind.ClassDeclaration: {
          const action = this.#ownClientAction(decl);
          if (action && isNew) e.actions.add(action);
          reach(decl);
          break;
        }
        case SyntaxKind.FunctionDeclaration:
        case SyntaxKind.Constructor:
        case SyntaxKind.GetAccessor:
        case SyntaxKind.ArrowFunction:
        case SyntaxKind.FunctionExpression:
          reach(decl);
          break;
        case SyntaxKind.VariableDeclaration:
          reach(decl);
          // Calling a variable that holds a call's result runs the closures that call returned.
          if (parent && isCallExpression(parent) && parent.expression === id) {
            const init = (decl as unknown as { initializer?: Node }).initializer;
            if (init) for (const c of this.#returnedClosures(init, 0)) reach(c);
          }
          break;
        case SyntaxKind.MethodDeclaration:
        case SyntaxKind.PropertyDeclaration:
        case SyntaxKind.PropertyAssignment:
        case SyntaxKind.ShorthandPropertyAssignment:
        case SyntaxKind.MethodSignature:
        case SyntaxKind.PropertySignature:
          // The declaration the checker names, and whatever else the receiver's type admits.
          if (!member) break;
          if (decl.kind === SyntaxKind.MethodDeclaration) reach(decl);
          else if (decl.kind !== SyntaxKind.MethodSignature && decl.kind !== SyntaxKind.PropertySignature)
            this.#reachImpl({ container: decl.parent, member: decl }, reach);
          {
            const name = (id as Identifier).text;
            const impls = this.#dispatch(parent.expression, name);
            for (const impl of impls) this.#reachImpl(impl, reach);
            const called =
              !!parent.parent && isCallExpression(parent.parent) && parent.parent.expression === parent;
            const factories = this.#factories.get(name) ?? [];
            // A port whose value is a function (`deps.unwrap(...)`): what its factories return runs.
            if (decl.kind === SyntaxKind.PropertySignature && called)
              for (const f of factories) for (const c of this.#returnsOf(f, 0)) reach(c);
            const port = portOf(parent.expression);
            // Reading a port no factory in the bundle builds throws (runtime.ts `wiredDeps`).
            if (
              isIdentifier(parent.expression) &&
              parent.expression.text === 'deps' &&
              ENTRY_PORTS.has(name) &&
              factories.length === 0
            )
              e.unwired.add(`deps.${name}`);
            // A call on a port's member that nothing in the bundle implements.
            else if (called && port && impls.length === 0 && isSignature(decl))
              e.unwired.add(`${port}.${name}`);
          }
          break;
        default:
          // Parameters, types, enums, modules: nothing runs here (a call through a parameter is
          // followed where the caller names the function).
          break;
      }
    }
  }

  #sdkUse(pkg: string, name: string, kind: SyntaxKind, isNew: boolean, e: { actions: Set<string> }) {
    if (kind === SyntaxKind.ClassDeclaration && name.endsWith('Command')) {
      if (!isNew) return;
      const mapped = ACTION_OF[`${pkg}:${name}`];
      const service = SERVICE_OF[pkg];
      if (mapped === null || !service) {
        this.#unmapped.add(`@aws-sdk/${pkg} ${name}: no IAM action mapped (test/support/aws-reach.ts)`);
        return;
      }
      e.actions.add(mapped ?? `${service}:${name.slice(0, -'Command'.length)}`);
      return;
    }
    const callable =
      kind === SyntaxKind.FunctionDeclaration ||
      kind === SyntaxKind.MethodDeclaration ||
      kind === SyntaxKind.MethodSignature;
    if (callable && !SDK_PLAIN_MEMBERS.has(name) && !SDK_PLAIN_HELPERS.has(`${pkg}:${name}`))
      this.#unmapped.add(`@aws-sdk/${pkg} ${name}: an SDK helper may call APIs the analysis cannot see`);
  }

  /**
   * The action of a command of crosslink's own clients: `class XCommand extends
   * InterconnectCommand<'Op'>` -> `interconnect:Op`; functions/aws/sts.ts `class OpCommand` ->
   * `sts:Op`.
   */
  #ownClientAction(decl: Node): string | undefined {
    if (!isClassDeclaration(decl)) return;
    const file = decl.getSourceFile().fileName;
    const name = decl.name?.text ?? '';
    if (file.endsWith('/functions/aws/sts.ts'))
      return name.endsWith('Command') ? `sts:${name.slice(0, -'Command'.length)}` : undefined;
    if (!file.endsWith('/interconnect-client.ts')) return;
    for (const h of decl.heritageClauses ?? [])
      for (const t of h.types) {
        const arg = t.typeArguments?.[0] as unknown as { literal?: Node } | undefined;
        if (t.expression.getText() === 'InterconnectCommand' && arg?.literal && isStringLiteral(arg.literal))
          return `interconnect:${arg.literal.text}`;
      }
    return undefined;
  }

  /** Class members and object-literal members by name: the candidates of a call on a port. */
  #indexImplementations(sf: Node) {
    const add = (name: Node | undefined, impl: Impl) => {
      if (!name || !(isIdentifier(name) || isPrivateIdentifier(name))) return;
      const list = this.#impls.get(name.text) ?? [];
      list.push(impl);
      this.#impls.set(name.text, list);
    };
    const visit = (n: Node) => {
      if (n.kind === SyntaxKind.VariableDeclaration) {
        const d = n as unknown as { type?: Node; initializer?: Node };
        const t = d.type as unknown as
          | { typeName?: Node; typeArguments?: readonly { literal?: Node }[] }
          | undefined;
        const port = t?.typeArguments?.[0]?.literal;
        if (
          t?.typeName &&
          isIdentifier(t.typeName) &&
          t.typeName.text === 'PortFactory' &&
          port &&
          isStringLiteral(port) &&
          d.initializer &&
          isFunctionLikeDeclaration(d.initializer)
        )
          this.#factories.set(port.text, [...(this.#factories.get(port.text) ?? []), d.initializer]);
      }
      if (isClassDeclaration(n))
        for (const m of n.members)
          if (m.kind === SyntaxKind.MethodDeclaration || m.kind === SyntaxKind.PropertyDeclaration)
            add((m as unknown as { name: Node }).name, { container: n, member: m });
      if (isObjectLiteralExpression(n))
        for (const p of n.properties)
          add((p as unknown as { name?: Node }).name, { container: n, member: p });
      n.forEachChild(visit);
    };
    visit(sf);
  }

  readonly #containerTypes = new Map<string, Type | undefined>();
  readonly #dispatched = new Map<string, Impl[]>();

  #containerType(c: Node): Type | undefined {
    const k = key(c);
    if (!this.#containerTypes.has(k)) {
      let t: Type | undefined;
      if (isClassDeclaration(c) && c.name) {
        const s = this.#checker.getSymbolAtLocation(c.name);
        t = s ? this.#checker.getDeclaredTypeOfSymbol(s) : undefined;
      } else {
        // The type the literal is written for (a variable's, a parameter's, a return type), else its own.
        const ctx = this.#checker.getContextualType(c as Expression);
        t = (ctx && this.#checker.getNonNullableType(ctx)) ?? this.#checker.getTypeAtLocation(c);
      }
      this.#containerTypes.set(k, t);
    }
    return this.#containerTypes.get(k);
  }

  /** The members named `name` of every class or object literal assignable to `receiver`'s type. */
  #dispatch(receiver: Node, name: string): Impl[] {
    const raw = this.#checker.getTypeAtLocation(receiver);
    const type = raw ? (this.#checker.getNonNullableType(raw) ?? raw) : undefined;
    if (!type) return [];
    const k = `${type.id}:${name}`;
    const known = this.#dispatched.get(k);
    if (known) return known;
    const found = (this.#impls.get(name) ?? []).filter((impl) => {
      const t = this.#containerType(impl.container);
      return t !== undefined && this.#checker.isTypeAssignableTo(t, type);
    });
    this.#dispatched.set(k, found);
    return found;
  }

  #reachImpl(impl: Impl, reach: (n: Node) => void) {
    const m = impl.member;
    if (m.kind === SyntaxKind.MethodDeclaration) return reach(m);
    if (isShorthandPropertyAssignment(m)) {
      // `{ f }`: the function f names, or what its variable holds.
      let s = this.#checker.getShorthandAssignmentValueSymbol(m);
      if (s && s.flags & SymbolFlags.Alias) s = this.#checker.getAliasedSymbol(s);
      for (const h of s?.declarations ?? []) {
        if ((h.path as string).includes('/node_modules/')) continue;
        const d = h.resolve();
        if (d && isFunctionLikeDeclaration(d)) reach(d);
        const init = d && (d as unknown as { initializer?: Node }).initializer;
        if (init) for (const c of this.#returnedClosures(init, 0)) reach(c);
      }
      return;
    }
    const init = (m as unknown as { initializer?: Node }).initializer;
    if (init) for (const c of this.#returnedClosures(init, 0)) reach(c);
  }

  /**
   * What calling the value of `expr` runs: a function-like itself; for a call, the closures its
   * callee returns; for a name, the function or the value it is bound to.
   */
  #returnedClosures(expr: Node, depth: number): Node[] {
    if (depth > 4) return [];
    let x = expr;
    while (
      x.kind === SyntaxKind.ParenthesizedExpression ||
      x.kind === SyntaxKind.AwaitExpression ||
      x.kind === SyntaxKind.AsExpression ||
      x.kind === SyntaxKind.SatisfiesExpression
    )
      x = (x as unknown as { expression: Node }).expression;
    if (isFunctionLikeDeclaration(x)) return [x];
    if (x.kind === SyntaxKind.ConditionalExpression) {
      const c = x as unknown as { whenTrue: Node; whenFalse: Node };
      return [
        ...this.#returnedClosures(c.whenTrue, depth + 1),
        ...this.#returnedClosures(c.whenFalse, depth + 1),
      ];
    }
    const target = isCallExpression(x)
      ? x.expression
      : isIdentifier(x) || isPropertyAccessExpression(x)
        ? x
        : undefined;
    if (!target) return [];
    const nameNode = isPropertyAccessExpression(target) ? target.name : target;
    let s = this.#checker.getSymbolAtLocation(nameNode);
    if (!s) return [];
    if (s.flags & SymbolFlags.Alias) s = this.#checker.getAliasedSymbol(s);
    const out: Node[] = [];
    for (const h of s.declarations) {
      if ((h.path as string).includes('/node_modules/')) continue;
      const d = h.resolve();
      if (!d) continue;
      if (!isCallExpression(x)) {
        if (isFunctionLikeDeclaration(d)) out.push(d);
        const init = (d as unknown as { initializer?: Node }).initializer;
        if (d.kind === SyntaxKind.VariableDeclaration && init)
          out.push(...this.#returnedClosures(init, depth + 1));
        continue;
      }
      if (isFunctionLikeDeclaration(d)) out.push(d, ...this.#returnsOf(d, depth));
    }
    return out;
  }

  /** The closures `fn` returns (its return expressions that are, or evaluate to, functions). */
  #returnsOf(fn: Node, depth: number): Node[] {
    const out: Node[] = [];
    const body = (fn as unknown as { body?: Node }).body;
    if (!body) return out;
    if (body.kind !== SyntaxKind.Block) return this.#returnedClosures(body, depth + 1);
    const visit = (n: Node) => {
      if (isFunctionLikeDeclaration(n)) return;
      if (isReturnStatement(n) && n.expression) out.push(...this.#returnedClosures(n.expression, depth + 1));
      n.forEachChild(visit);
    };
    body.forEachChild(visit);
    return out;
  }

  /**
   * Services whose clients are built with a credential provider from assume-role.ts
   * (`credentialsFor`): the SDK calls that provider (STS AssumeRole) before it signs.
   */
  #assumedRoleServices(): Set<string> {
    const services = new Set<string>();
    for (const sf of this.#sources) {
      const calls: Node[] = [];
      const visit = (n: Node) => {
        if (isCallExpression(n) && isIdentifier(n.expression) && n.expression.text === 'credentialsFor')
          calls.push(n);
        n.forEachChild(visit);
      };
      visit(sf);
      for (const call of calls) {
        let fn: Node | undefined = call.parent;
        while (fn && !isFunctionLikeDeclaration(fn)) fn = fn.parent;
        if (!fn) continue;
        const news: Node[] = [];
        const collect = (n: Node) => {
          if (isNewExpression(n) && isIdentifier(n.expression) && n.expression.text.endsWith('Client'))
            news.push(n.expression);
          n.forEachChild(collect);
        };
        collect(fn);
        const symbols = this.#checker.getSymbolAtLocation(news);
        for (const s0 of symbols) {
          if (!s0) continue;
          const s = s0.flags & SymbolFlags.Alias ? this.#checker.getAliasedSymbol(s0) : s0;
          for (const h of s.declarations) {
            const sdk = SDK_PATH.exec(h.path as string);
            if (sdk && SERVICE_OF[sdk[1] as string]) services.add(SERVICE_OF[sdk[1] as string] as string);
            else if ((h.path as string).endsWith('/interconnect-client.ts')) services.add('interconnect');
          }
        }
      }
    }
    return services;
  }
}
