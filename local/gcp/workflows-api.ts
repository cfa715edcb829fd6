/**
 * The Workflows Executions API (`workflowexecutions.googleapis.com/v1`) of the local cloud, and the
 * callback URLs of running executions. `WorkflowsService.handle` is a `(req, res) => boolean` that
 * the Google edge mounts; `startWorkflowsApi` serves it alone (tests, `sim workflow run`).
 *
 * Routes (REST shapes of the real API):
 *   POST /v1/projects/{p}/locations/{l}/workflows/{w}/executions          {argument: "<json>", labels}
 *   GET  /v1/projects/{p}/locations/{l}/workflows/{w}/executions          ?filter=&pageSize=&pageToken=&view=
 *   GET  /v1/projects/{p}/locations/{l}/workflows/{w}/executions/{e}
 *   POST /v1/projects/{p}/locations/{l}/workflows/{w}/executions/{e}:cancel
 *   ANY  /v1/projects/{p}/locations/{l}/workflows/{w}/executions/{e}/callbacks/{id}
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TimerClock } from '#local/clock.ts';
import { CallbackHub } from '#local/workflows/callbacks.ts';
import type { Workflow } from '#local/workflows/definition.ts';
import { Execution } from '#local/workflows/interpreter.ts';
import { errorsOf, lintWorkflow } from '#local/workflows/lint.ts';
import type { ExecutionError, ExecutionOutcome } from '#local/workflows/outcome.ts';
import type { LogEntry, WorkflowPorts } from '#local/workflows/ports.ts';
import { fromJson, toJson } from '#local/workflows/values.ts';
import { GcpError } from './errors.ts';

export type ExecutionState = 'ACTIVE' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** The Execution resource as the API returns it. */
export interface ExecutionResource {
  name: string;
  startTime: string;
  endTime?: string;
  duration?: string;
  state: ExecutionState;
  argument: string;
  result?: string;
  error?: ExecutionError;
  workflowRevisionId: string;
  callLogLevel: string;
  labels: Record<string, string>;
  status: { currentSteps: { step: string; routine: string }[] };
}

export interface DeployedWorkflow {
  workflow: Workflow;
  revisionId: string;
  env: Record<string, string>;
}

export interface WorkflowsServiceOptions {
  clock: TimerClock;
  /** HTTP, tokens, logging and billing classification for executions (callbacks come from here). */
  ports?: Omit<WorkflowPorts, 'clock' | 'callbacks'>;
  /** Public origin of the API (callback URLs start with it); set later with `baseUrl`. */
  baseUrl?: string;
  projectNumber?: string;
  /**
   * The Google edge checks tokens and IAM here: `false` refuses the request as Google refuses a
   * caller without the permission (403 PERMISSION_DENIED; a thrown GcpError is answered as it
   * says, e.g. IAM's 403 naming the permission), `'unauthenticated'` as it refuses a
   * missing, unknown or expired token (401 UNAUTHENTICATED with `WWW-Authenticate: Bearer`), which
   * tells a client to get a new token rather than give up.
   */
  authorize?: (
    req: IncomingMessage,
    action: 'create' | 'get' | 'list' | 'cancel' | 'callback',
  ) => Authorization | Promise<Authorization>;
}

interface Entry {
  resource: ExecutionResource;
  logs: LogEntry[];
  controller: AbortController;
  done: Promise<ExecutionOutcome>;
  outcome?: ExecutionOutcome;
}

const MAX_LOGS = 10_000;
const EXEC_RE =
  /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/workflows\/([^/]+)\/executions(?:\/([^/:]+))?(:cancel)?$/;
const CALLBACK_RE =
  /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/workflows\/[^/]+\/executions\/[^/]+\/callbacks\/[^/]+$/;

/** A Google API error. */
export type Authorization = boolean | 'unauthenticated';

class ApiError extends Error {
  readonly code: number;
  readonly status: string;
  constructor(code: number, status: string, message: string) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export class WorkflowsService {
  readonly callbacks: CallbackHub;
  readonly #opts: WorkflowsServiceOptions;
  readonly #workflows = new Map<string, DeployedWorkflow>();
  readonly #executions = new Map<string, Entry>();
  #revision = 0;

  constructor(opts: WorkflowsServiceOptions) {
    this.#opts = opts;
    this.callbacks = new CallbackHub(opts.clock, opts.baseUrl);
  }

  set baseUrl(url: string) {
    this.callbacks.baseUrl = url;
  }

  /**
   * Deploys (or replaces) a workflow from its YAML; refuses one with lint errors (as `gcloud workflows
   * deploy` does; warnings such as an unreachable step pass). Running executions keep the definition they started with.
   */
  deploy(
    project: string,
    location: string,
    id: string,
    definition: string,
    env: Record<string, string> = {},
  ): string {
    const { workflow, problems: all } = lintWorkflow(definition);
    const problems = errorsOf(all);
    if (problems.length > 0)
      throw new Error(
        `workflow ${id} cannot be deployed: ${problems.map((p) => `line ${p.line}: ${p.message}`).join('; ')}`,
      );
    const revisionId = `${String(++this.#revision).padStart(6, '0')}-${randomUUID().slice(0, 3)}`;
    this.#workflows.set(`projects/${project}/locations/${location}/workflows/${id}`, {
      workflow,
      revisionId,
      env,
    });
    return revisionId;
  }

  /** Starts an execution; `argument` is the JSON text the API takes. */
  create(
    project: string,
    location: string,
    workflowId: string,
    body: { argument?: string; labels?: Record<string, string>; callLogLevel?: string } = {},
  ): ExecutionResource {
    const wfName = `projects/${project}/locations/${location}/workflows/${workflowId}`;
    const deployed = this.#workflows.get(wfName);
    if (!deployed) throw new ApiError(404, 'NOT_FOUND', `Resource '${wfName}' was not found`);
    let argument: unknown = null;
    if (body.argument !== undefined && body.argument !== '') {
      try {
        argument = JSON.parse(body.argument);
      } catch (e) {
        throw new ApiError(400, 'INVALID_ARGUMENT', `argument is not valid JSON: ${(e as Error).message}`);
      }
    }
    const labelProblem = labelsProblem(body.labels);
    if (labelProblem) throw new ApiError(400, 'INVALID_ARGUMENT', labelProblem);
    const id = randomUUID();
    const name = `${wfName}/executions/${id}`;
    const controller = new AbortController();
    const resource: ExecutionResource = {
      name,
      startTime: new Date(this.#opts.clock.now()).toISOString(),
      state: 'ACTIVE',
      argument: body.argument ?? 'null',
      workflowRevisionId: deployed.revisionId,
      callLogLevel: body.callLogLevel ?? 'CALL_LOG_LEVEL_UNSPECIFIED',
      labels: { ...(body.labels ?? {}) },
      status: { currentSteps: [] },
    };
    const logs: LogEntry[] = [];
    const execution = new Execution(
      deployed.workflow,
      {
        ...this.#opts.ports,
        env: { ...deployed.env, ...this.#opts.ports?.env },
        clock: this.#opts.clock,
        callbacks: this.callbacks,
        log: (entry) => {
          if (logs.length < MAX_LOGS) logs.push(entry);
          this.#opts.ports?.log?.(entry);
        },
      },
      {
        identity: {
          project,
          location,
          workflow: workflowId,
          revision: deployed.revisionId,
          execution: id,
          projectNumber: this.#opts.projectNumber ?? '000000000000',
        },
        signal: controller.signal,
        onStep: (r) => {
          resource.status.currentSteps = [{ step: r.step, routine: r.routine }];
        },
      },
    );
    const entry: Entry = { resource, logs, controller, done: Promise.resolve(null as never) };
    entry.done = (async () => {
      // Start on a later tick so `create` returns ACTIVE first, as the API does.
      await new Promise<void>((r) => setImmediate(r));
      const outcome = await execution.run(fromJson(argument));
      this.#finish(entry, outcome);
      return outcome;
    })();
    this.#executions.set(name, entry);
    return structuredClone(resource);
  }

  #finish(entry: Entry, outcome: ExecutionOutcome): void {
    entry.outcome = outcome;
    const r = entry.resource;
    r.state = outcome.state;
    r.endTime = new Date(this.#opts.clock.now()).toISOString();
    r.duration = `${(Date.parse(r.endTime) - Date.parse(r.startTime)) / 1000}s`;
    if (outcome.state === 'SUCCEEDED') r.result = JSON.stringify(toJson(outcome.result ?? null));
    if (outcome.error) r.error = outcome.error;
    this.callbacks.close(r.name);
  }

  get(name: string): ExecutionResource {
    const e = this.#executions.get(name);
    if (!e) throw new ApiError(404, 'NOT_FOUND', `Resource '${name}' was not found`);
    return structuredClone(e.resource);
  }

  /** Executions of a workflow, newest first, filtered by `state="..."` and `labels.k="v"` terms. */
  list(workflowName: string, filter = ''): ExecutionResource[] {
    const terms = parseFilter(filter);
    return [...this.#executions.values()]
      .map((e) => e.resource)
      .filter((r) => r.name.startsWith(`${workflowName}/executions/`))
      .filter((r) =>
        terms.every(({ field, value }) => {
          if (field === 'state') return r.state === value;
          if (field.startsWith('labels.')) return r.labels[field.slice(7)] === value;
          if (field === 'name') return r.name === value;
          return false;
        }),
      )
      .reverse()
      .map((r) => structuredClone(r));
  }

  cancel(name: string): ExecutionResource {
    const e = this.#executions.get(name);
    if (!e) throw new ApiError(404, 'NOT_FOUND', `Resource '${name}' was not found`);
    if (e.resource.state !== 'ACTIVE')
      throw new ApiError(400, 'FAILED_PRECONDITION', `execution ${name} is ${e.resource.state}, not ACTIVE`);
    e.controller.abort(new Error('cancelled'));
    // The interpreter notices at its next step or wait; the resource says CANCELLED at once.
    e.resource.state = 'CANCELLED';
    e.resource.endTime = new Date(this.#opts.clock.now()).toISOString();
    this.callbacks.close(name);
    return structuredClone(e.resource);
  }

  /** Resolves when the execution ends (tests, `sim workflow run`). */
  async wait(name: string): Promise<ExecutionOutcome> {
    const e = this.#executions.get(name);
    if (!e) throw new ApiError(404, 'NOT_FOUND', `Resource '${name}' was not found`);
    return e.done;
  }

  /** What the execution wrote with `sys.log` (Cloud Logging's entries for it), oldest first. */
  logs(name: string): LogEntry[] {
    const e = this.#executions.get(name);
    if (!e) throw new ApiError(404, 'NOT_FOUND', `Resource '${name}' was not found`);
    return structuredClone(e.logs);
  }

  /** The engine's outcome (steps taken, billed step counts) of an ended execution. */
  outcome(name: string): ExecutionOutcome | undefined {
    return this.#executions.get(name)?.outcome;
  }

  /** The HTTP handler; returns false when the path is not this API's (the edge tries others). */
  handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://local');
    const path = url.pathname;
    if (CALLBACK_RE.test(path)) {
      void this.#serve(req, res, 'callback', async (body) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        const query: Record<string, string[]> = {};
        for (const [k, v] of url.searchParams) {
          query[k] ??= [];
          query[k].push(v);
        }
        const ctype = (req.headers['content-type'] ?? '').toLowerCase();
        let parsed: unknown = body.length === 0 ? null : body.toString('utf8');
        if (body.length > 0 && ctype.includes('json')) {
          try {
            parsed = JSON.parse(body.toString('utf8'));
          } catch {
            throw new ApiError(400, 'INVALID_ARGUMENT', 'the callback body is not valid JSON');
          }
        }
        const r = this.callbacks.deliver(path, {
          method: req.method ?? 'POST',
          headers,
          query,
          body: parsed,
          url: `${this.callbacks.baseUrl}${req.url}`,
        });
        if (r.status === 404) throw new ApiError(404, 'NOT_FOUND', r.message);
        if (r.status === 400) throw new ApiError(400, 'INVALID_ARGUMENT', r.message);
        return {};
      });
      return true;
    }
    const m = EXEC_RE.exec(path);
    if (!m) return false;
    const [, project, location, workflow, execId, cancel] = m as unknown as [
      string,
      string,
      string,
      string,
      string?,
      string?,
    ];
    const wfName = `projects/${project}/locations/${location}/workflows/${workflow}`;
    const method = req.method ?? 'GET';
    if (!execId && method === 'POST')
      void this.#serve(req, res, 'create', async (body) => {
        const json = parseBody(body);
        if (json.argument !== undefined && typeof json.argument !== 'string')
          throw new ApiError(400, 'INVALID_ARGUMENT', 'argument must be a JSON-encoded string');
        return this.create(
          project,
          location,
          workflow,
          json as { argument?: string; labels?: Record<string, string> },
        );
      });
    else if (!execId && method === 'GET')
      void this.#serve(req, res, 'list', async () => {
        const view = url.searchParams.get('view') ?? 'BASIC';
        if (!['BASIC', 'FULL', 'EXECUTION_VIEW_UNSPECIFIED'].includes(view))
          throw new ApiError(400, 'INVALID_ARGUMENT', `view must be BASIC or FULL, got ${view}`);
        const all = this.list(wfName, url.searchParams.get('filter') ?? '');
        // The real API caps FULL pages at 100 and BASIC ones at 1000.
        const cap = view === 'FULL' ? 100 : 1000;
        const size = Math.min(Number(url.searchParams.get('pageSize') ?? 100) || 100, cap);
        const start = Number(url.searchParams.get('pageToken') ?? 0) || 0;
        const page = all.slice(start, start + size).map((r) => (view === 'FULL' ? r : basicView(r)));
        return {
          executions: page,
          ...(start + size < all.length ? { nextPageToken: String(start + size) } : {}),
        };
      });
    else if (execId && cancel && method === 'POST')
      void this.#serve(req, res, 'cancel', async () => this.cancel(`${wfName}/executions/${execId}`));
    else if (execId && !cancel && method === 'GET')
      void this.#serve(req, res, 'get', async () => this.get(`${wfName}/executions/${execId}`));
    else
      void this.#serve(req, res, 'get', async () => {
        throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not supported on ${path}`);
      });
    return true;
  };

  async #serve(
    req: IncomingMessage,
    res: ServerResponse,
    action: 'create' | 'get' | 'list' | 'cancel' | 'callback',
    fn: (body: Buffer) => Promise<unknown>,
  ): Promise<void> {
    const send = (code: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(payload));
    };
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const allowed = this.#opts.authorize ? await this.#opts.authorize(req, action) : true;
      if (allowed === 'unauthenticated') {
        const message =
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.';
        send(
          401,
          { error: { code: 401, message, status: 'UNAUTHENTICATED' } },
          { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
        );
        return;
      }
      if (!allowed) throw new ApiError(403, 'PERMISSION_DENIED', `the caller may not ${action} executions`);
      send(200, await fn(Buffer.concat(chunks)));
    } catch (e) {
      if (e instanceof ApiError)
        send(e.code, { error: { code: e.code, message: e.message, status: e.status } });
      else if (e instanceof GcpError) send(e.code, e.toJSON());
      else send(500, { error: { code: 500, message: (e as Error).message, status: 'INTERNAL' } });
    }
  }
}

function parseBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const v = JSON.parse(body.toString('utf8'));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v;
  } catch {
    // fall through
  }
  throw new ApiError(400, 'INVALID_ARGUMENT', 'the request body must be a JSON object');
}

/**
 * What `view=BASIC` (the default) returns: "name, start_time, end_time, duration, state, and
 * workflow_revision_id" only (no labels, argument or result).
 */
function basicView(r: ExecutionResource): Partial<ExecutionResource> {
  const { name, startTime, endTime, duration, state, workflowRevisionId } = r;
  return {
    name,
    startTime,
    state,
    workflowRevisionId,
    ...(endTime ? { endTime } : {}),
    ...(duration ? { duration } : {}),
  };
}

const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

/**
 * The API's label rules: at most 64 entries; keys and values at most 63 characters of lowercase
 * letters, digits, underscores and dashes; keys start with a letter.
 */
function labelsProblem(labels: unknown): string | undefined {
  if (labels === undefined) return undefined;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels))
    return 'labels must be a map of strings';
  const entries = Object.entries(labels);
  if (entries.length > 64) return `labels can contain at most 64 entries, got ${entries.length}`;
  for (const [k, v] of entries) {
    if (!LABEL_KEY.test(k))
      return `label key "${k}" must start with a lowercase letter and hold at most 63 lowercase letters, digits, underscores and dashes`;
    if (typeof v !== 'string' || !LABEL_VALUE.test(v))
      return `label "${k}" value must be at most 63 lowercase letters, digits, underscores and dashes`;
  }
  return undefined;
}

/** `state="ACTIVE" AND labels.k="v"` (the subset of AIP-160 the starter (docs/architecture.md, "Execution names") uses). */
export function parseFilter(filter: string): { field: string; value: string }[] {
  const out: { field: string; value: string }[] = [];
  const trimmed = filter.trim();
  if (!trimmed) return out;
  for (const term of trimmed.split(/\s+AND\s+/i)) {
    const m = /^([\w.-]+|labels\."[^"]+")\s*=\s*"([^"]*)"$/.exec(term.trim());
    if (!m) throw new ApiError(400, 'INVALID_ARGUMENT', `unsupported filter term: ${term}`);
    out.push({ field: (m[1] as string).replace(/^labels\."(.+)"$/, 'labels.$1'), value: m[2] as string });
  }
  return out;
}

export interface WorkflowsApiServer {
  url: string;
  service: WorkflowsService;
  close(): Promise<void>;
}

/** Serves the API alone on 127.0.0.1 (port 0 = a free port). */
export async function startWorkflowsApi(
  opts: WorkflowsServiceOptions & { port?: number; host?: string },
): Promise<WorkflowsApiServer> {
  const service = new WorkflowsService(opts);
  const server: Server = createServer((req, res) => {
    if (!service.handle(req, res)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 404, message: `no route ${req.url}`, status: 'NOT_FOUND' } }));
    }
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host}:${port}`;
  service.baseUrl = opts.baseUrl ?? url;
  return {
    url,
    service,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
