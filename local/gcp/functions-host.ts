/**
 * Cloud Run functions of gcp.yml, locally. Each function runs in its own child process under
 * functions-framework (local/gcp/function-host-main.ts) on a private port; callers reach it
 * through the Google edge at its URL `<edge>/<region>-<project>.cloudfunctions.net/<name>`, the
 * local form of `https://<region>-<project>.cloudfunctions.net/<name>`. The edge does what Cloud
 * Run's IAM check does before forwarding:
 * - no token, a token that is not an ID token signed by the local Google key (JWKS), another
 *   audience than the function URL, or an expired token: 401;
 * - a valid token whose email is not among the function's invokers: 403 (`allUsers` skips the
 *   check, `allAuthenticatedUsers` takes any valid token; `user:` and `serviceAccount:` members
 *   match the token's email);
 * - otherwise the request goes to the function with the verified token in `Authorization` and its
 *   signature replaced by `SIGNATURE_REMOVED_BY_GOOGLE`, as Cloud Run forwards it, so the handler
 *   reads the caller's email from the token body.
 * An event function (Pub/Sub or Eventarc trigger) with `retry: false` (the default, as on Google)
 * has its failures acknowledged: the push is answered 204 whatever the function said, so Pub/Sub
 * does not redeliver.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { ProcessGroup } from '#local/processes.ts';
import { type FunctionSpec, memberOf, serviceAccountEmail, signatureType } from '#scripts/gcp-config.ts';
import { decodeJwt, type GcpAuth, isAuthFailure } from './auth.ts';
import type { RawHandler } from './edge.ts';

const HOST_MAIN = resolve(import.meta.dirname, 'function-host-main.ts');
const START_TIMEOUT_MS = 30_000;
/** Lines of a function's output kept (as many as a Lambda's: tests read whole flows from it). */
const OUTPUT_LINES = 10_000;

export interface HostedFunction {
  spec: FunctionSpec;
  signatureType: 'http' | 'cloudevent';
  /** The URL callers use (and the ID token audience). */
  url: string;
  /** The private port of the functions-framework server. */
  port: number;
  child: ChildProcess;
  /** What the function wrote on stdout / stderr (the last OUTPUT_LINES lines). */
  output: string[];
}

export interface FunctionHostsOptions {
  processes: ProcessGroup;
  auth: GcpAuth;
  project: string;
  region: string;
  /** Directory `source` paths are relative to (gcp.yml's). */
  root: string;
  /** The edge's base URL (known once it listens). */
  edgeUrl: () => string;
  /** Environment every function gets (emulator hosts, project), before its own `environment`. */
  env: () => Record<string, string>;
  log: (message: string) => void;
}

export class FunctionStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FunctionStartError';
  }
}

/** A function's URL in the cloud (2nd gen functions answer on it too). */
export function cloudFunctionUrl(region: string, project: string, name: string): string {
  return `https://${region}-${project}.cloudfunctions.net/${name}`;
}

/** The local URL of a function. */
export function functionUrl(edgeUrl: string, region: string, project: string, name: string): string {
  return `${edgeUrl}/${region}-${project}.cloudfunctions.net/${name}`;
}

export class FunctionHosts {
  readonly #o: FunctionHostsOptions;
  readonly #hosted = new Map<string, HostedFunction>();
  #keysDir: string | undefined;

  constructor(options: FunctionHostsOptions) {
    this.#o = options;
  }

  url(name: string): string {
    return functionUrl(this.#o.edgeUrl(), this.#o.region, this.#o.project, name);
  }

  /**
   * The runtime identity, as Cloud Run gives it through the metadata server: a key file of the
   * function's service account (GOOGLE_APPLICATION_CREDENTIALS), its tokens issued by the edge.
   */
  async #credentials(spec: FunctionSpec): Promise<string | undefined> {
    if (!spec.serviceAccount) return undefined;
    const email = serviceAccountEmail(spec.serviceAccount, this.#o.project);
    await this.#o.auth.addServiceAccount(email);
    this.#keysDir ??= await mkdtemp(join(tmpdir(), 'crosslink-fn-keys-'));
    const path = join(this.#keysDir, `${spec.name}.json`);
    await writeFile(path, `${JSON.stringify(this.#o.auth.keyFile(email))}\n`, { mode: 0o600 });
    return path;
  }

  get(name: string): HostedFunction | undefined {
    return this.#hosted.get(name);
  }

  list(): HostedFunction[] {
    return [...this.#hosted.values()];
  }

  /** Starts (or restarts) a function's host; resolves once it listens. */
  async start(spec: FunctionSpec): Promise<HostedFunction> {
    await this.stop(spec.name);
    const source = resolve(this.#o.root, spec.source);
    const credentials = await this.#credentials(spec);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.#o.env(),
      ...spec.environment,
      FUNCTION_TARGET: spec.entryPoint,
      FUNCTION_SIGNATURE_TYPE: signatureType(spec),
      K_SERVICE: spec.name,
      K_REVISION: `${spec.name}-00001`,
      GOOGLE_CLOUD_PROJECT: this.#o.project,
      FUNCTION_REGION: this.#o.region,
      ...(credentials ? { GOOGLE_APPLICATION_CREDENTIALS: credentials } : {}),
    };
    const child = this.#o.processes.spawn(process.execPath, [HOST_MAIN, source, spec.entryPoint], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const keep = (line: string) => {
      output.push(line);
      if (output.length > OUTPUT_LINES) output.shift();
    };
    createInterface({ input: child.stderr! }).on('line', keep);
    const lines = createInterface({ input: child.stdout! });
    const port = await new Promise<number>((ok, fail) => {
      const timer = setTimeout(() => {
        fail(
          new FunctionStartError(`function ${spec.name} did not start within 30 s: ${output.join(' | ')}`),
        );
      }, START_TIMEOUT_MS);
      lines.on('line', (line) => {
        const m = /^\{"port":(\d+)\}$/.exec(line);
        if (m) {
          clearTimeout(timer);
          ok(Number(m[1]));
        } else keep(line);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        fail(
          new FunctionStartError(
            `function ${spec.name} (${spec.source}, entry point ${spec.entryPoint}) exited ${signal ?? code} before serving: ${output.slice(-5).join(' | ')}`,
          ),
        );
      });
    }).catch((err: unknown) => {
      stopChild(child);
      throw err;
    });
    const hosted: HostedFunction = {
      spec,
      signatureType: signatureType(spec),
      url: this.url(spec.name),
      port,
      child,
      output,
    };
    this.#hosted.set(spec.name, hosted);
    this.#o.log(`functions: ${spec.name} (${hosted.signatureType}) at ${hosted.url}`);
    return hosted;
  }

  async stop(name: string): Promise<void> {
    const h = this.#hosted.get(name);
    if (!h) return;
    this.#hosted.delete(name);
    await stopChild(h.child);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#hosted.keys()].map((n) => this.stop(n)));
    if (this.#keysDir) await rm(this.#keysDir, { recursive: true, force: true });
    this.#keysDir = undefined;
  }

  /** The edge's handler for function URLs: IAM check, then forward (see the file comment). */
  handler(): RawHandler {
    return (req, res) => {
      const prefix = `/${this.#o.region}-${this.#o.project}.cloudfunctions.net/`;
      const url = req.url ?? '/';
      if (!url.startsWith(prefix)) return false;
      const rest = url.slice(prefix.length);
      const m = /^([a-z][a-z0-9-]*)(.*)$/.exec(rest);
      const hosted = m ? this.#hosted.get(m[1] as string) : undefined;
      if (!m || !hosted) {
        sendText(res, 404, `Error: Page not found. The requested URL ${url} was not found on this server.`);
        req.resume();
        return true;
      }
      const tail = m[2] as string;
      const path = tail === '' || tail.startsWith('?') ? `/${tail}` : tail;
      void this.#forward(req, res, hosted, path);
      return true;
    };
  }

  async #forward(
    req: IncomingMessage,
    res: ServerResponse,
    hosted: HostedFunction,
    path: string,
  ): Promise<void> {
    const invokers = (hosted.spec.trigger.http?.invokers ?? []).map((m) => memberOf(m, this.#o.project));
    const trigger = hosted.spec.trigger.topic ?? hosted.spec.trigger.eventarc;
    const headers = { ...req.headers };
    if (!invokers.includes('allUsers')) {
      const token = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
      // Cloud Run takes the function's URLs as audiences: the local one and the cloud form a
      // workflow or scheduler job names (https://<region>-<project>.cloudfunctions.net/<name>).
      const verify = (t: string) => {
        const local = this.#o.auth.verifyIdToken(t, hosted.url);
        if (!isAuthFailure(local) || local.message !== 'wrong audience') return local;
        return this.#o.auth.verifyIdToken(
          t,
          cloudFunctionUrl(this.#o.region, this.#o.project, hosted.spec.name),
        );
      };
      const claims = token ? verify(token) : undefined;
      if (!token || !claims || isAuthFailure(claims)) {
        req.resume();
        res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
        sendText(
          res,
          401,
          `Your client does not have permission to the requested URL (${claims && isAuthFailure(claims) ? claims.message : 'no ID token'}).`,
        );
        return;
      }
      const email = String(claims.email ?? '');
      // An event function's invoker is its trigger's service account (Eventarc's push identity).
      const allowed = trigger
        ? [memberOf(`serviceAccount:${trigger.serviceAccount}`, this.#o.project)]
        : invokers;
      const ok =
        allowed.includes('allAuthenticatedUsers') ||
        allowed.some((member) => member.replace(/^(user|serviceAccount):/, '') === email);
      if (!ok) {
        req.resume();
        sendText(
          res,
          403,
          `Your client does not have permission to get URL ${hosted.url} from this server (${email} is not an invoker).`,
        );
        return;
      }
      const jwt = decodeJwt(token);
      const [head = '', body = ''] = token.split('.');
      if (jwt) headers.authorization = `Bearer ${head}.${body}.SIGNATURE_REMOVED_BY_GOOGLE`;
    }
    delete headers.host;
    const retry = trigger?.retry ?? false;
    const upstream = httpRequest(
      { host: '127.0.0.1', port: hosted.port, method: req.method, path, headers },
      (answer) => {
        if (trigger && !retry && (answer.statusCode ?? 500) >= 300) {
          answer.resume();
          this.#o.log(
            `functions: ${hosted.spec.name} failed (${answer.statusCode}); retry is off, the event is dropped`,
          );
          res.writeHead(204).end();
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) sendText(res, 503, `function ${hosted.spec.name} is unavailable: ${err.message}`);
      else res.destroy();
    });
    req.pipe(upstream);
  }
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}

/** SIGTERM to the host's process group, SIGKILL after 3 s; resolves when it exited. */
function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return done();
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(-(child.pid as number), sig);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    kill('SIGTERM');
  });
}
