/**
 * The metadata server of one locally hosted Cloud Run function (`GCE_METADATA_HOST` points its
 * process here; google-auth-library and gcp-metadata honour it). It answers what Cloud Run's
 * metadata server answers a function, under `/computeMetadata/v1/`, only to requests carrying
 * `Metadata-Flavor: Google` (403 otherwise), every answer carrying that header back:
 *
 * | path                                                    | answer                                          |
 * | ------------------------------------------------------- | ----------------------------------------------- |
 * | `instance`, `instance/`                                 | a listing (google-auth-library's presence check) |
 * | `project/project-id`, `project/numeric-project-id`      | the project id, its number                      |
 * | `instance/region`                                       | `projects/<number>/regions/<region>`            |
 * | `instance/service-accounts/{default,<email>}/email`     | the function's service account                  |
 * | `instance/service-accounts/{default,<email>}/token`     | `{access_token, expires_in, token_type}` of it   |
 * | `instance/service-accounts/{default,<email>}/identity`  | an ID token of it for `?audience=` (required)    |
 * | `universe/universe-domain`                              | `googleapis.com`                                |
 *
 * Anything else is 404. A function without a `serviceAccount` runs as the project's default
 * compute service account (`<number>-compute@developer.gserviceaccount.com`), as on Google. The
 * tokens are the local Google auth's: the edge accepts them as it accepts any token it issued.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { GcpAuth } from './auth.ts';

export interface MetadataServerOptions {
  auth: GcpAuth;
  project: string;
  region: string;
  /** The function's service account email (undefined: the default compute service account). */
  serviceAccount: string | undefined;
}

/** A stable 12-digit project number for a local project id (the local cloud has no numbers of its own). */
export function localProjectNumber(project: string): string {
  const n = BigInt(`0x${createHash('sha256').update(project).digest('hex').slice(0, 15)}`);
  return String(100_000_000_000n + (n % 900_000_000_000n));
}

export class MetadataServer {
  readonly #o: MetadataServerOptions;
  readonly #server: Server;
  readonly #number: string;
  readonly #email: string;
  #host = '';

  constructor(options: MetadataServerOptions) {
    this.#o = options;
    this.#number = localProjectNumber(options.project);
    this.#email = options.serviceAccount ?? `${this.#number}-compute@developer.gserviceaccount.com`;
    this.#server = createServer((req, res) => {
      void this.#answer(req.method ?? 'GET', req.url ?? '/', req.headers['metadata-flavor'], res);
    });
  }

  /** `127.0.0.1:<port>`: the value of GCE_METADATA_HOST. */
  get host(): string {
    return this.#host;
  }

  /** The service account the function runs as. */
  get serviceAccount(): string {
    return this.#email;
  }

  async listen(): Promise<void> {
    if (!this.#o.serviceAccount) await this.#o.auth.addServiceAccount(this.#email);
    await new Promise<void>((ok) => this.#server.listen(0, '127.0.0.1', ok));
    const address = this.#server.address();
    this.#host = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  close(): Promise<void> {
    return new Promise((done) => {
      this.#server.closeAllConnections();
      this.#server.close(() => done());
    });
  }

  async #answer(
    method: string,
    url: string,
    flavor: string | string[] | undefined,
    res: ServerResponse,
  ): Promise<void> {
    const send = (status: number, body: string, type = 'application/text') => {
      res.writeHead(status, { 'metadata-flavor': 'Google', 'content-type': type });
      res.end(body);
    };
    if (flavor !== 'Google') return send(403, 'Missing required header: Metadata-Flavor: Google\n');
    if (method !== 'GET') return send(405, `${method} is not allowed\n`);
    const u = new URL(url, 'http://metadata');
    const prefix = '/computeMetadata/v1/';
    if (!u.pathname.startsWith(prefix)) return send(404, 'Not Found\n');
    const path = u.pathname.slice(prefix.length);
    if (path === 'instance' || path === 'instance/') return send(200, 'region\nservice-accounts/\nzone\n');
    if (path === 'project/project-id') return send(200, this.#o.project);
    if (path === 'project/numeric-project-id') return send(200, this.#number);
    if (path === 'instance/region') return send(200, `projects/${this.#number}/regions/${this.#o.region}`);
    if (path === 'universe/universe-domain') return send(200, 'googleapis.com');
    const account = /^instance\/service-accounts\/([^/]+)\/(email|token|identity)$/.exec(path);
    if (!account || (account[1] !== 'default' && account[1] !== this.#email)) return send(404, 'Not Found\n');
    if (account[2] === 'email') return send(200, this.#email);
    if (account[2] === 'token') {
      const scopes = u.searchParams.get('scopes')?.split(',').filter(Boolean);
      const t = this.#o.auth.issueAccessToken({
        email: this.#email,
        kind: 'service-account',
        ...(scopes && scopes.length > 0 ? { scopes } : {}),
      });
      return send(
        200,
        JSON.stringify({ access_token: t.token, expires_in: t.expiresInSeconds, token_type: 'Bearer' }),
        'application/json',
      );
    }
    const audience = u.searchParams.get('audience');
    if (!audience) return send(400, 'non-empty audience parameter required\n');
    return send(200, this.#o.auth.mintIdToken({ email: this.#email, audience }));
  }
}
