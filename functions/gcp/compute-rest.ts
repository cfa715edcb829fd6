/**
 * The Compute Engine v1 REST calls of the Google VPN half (functions/gcp/vpn-half.ts): reads,
 * paged lists, and mutations waited for until their operation is done, each with the credentials
 * of the project it names (the hub's own, a network project's impersonated).
 */
import { fromHttp, fromOperation, NotFound } from './google-errors.ts';
import type { AccessTokenSource } from './transport-client.ts';

/** The Compute Engine v1 REST calls the half makes, each with the project's credentials. */
export class ComputeRest {
  readonly #authFor: (project: string) => AccessTokenSource;
  readonly #base: string;
  readonly #fetch: typeof fetch;
  constructor(o: {
    authFor: (project: string) => AccessTokenSource;
    endpoint?: string;
    fetch?: typeof fetch;
  }) {
    this.#authFor = o.authFor;
    this.#base = `${(o.endpoint ?? 'https://compute.googleapis.com').replace(/\/+$/, '')}/compute/v1/projects/`;
    this.#fetch = o.fetch ?? fetch;
  }

  async #call(project: string, method: string, path: string, body?: unknown): Promise<unknown> {
    const token = (await this.#authFor(project).getAccessToken()).token;
    const res = await this.#fetch(`${this.#base}${encodeURIComponent(project)}/${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json().catch(() => undefined)) as unknown;
    if (!res.ok) throw fromHttp(res.status, json);
    return json;
  }

  /** GET, or undefined on 404. */
  async get<T>(project: string, path: string): Promise<T | undefined> {
    try {
      return (await this.#call(project, 'GET', path)) as T;
    } catch (e) {
      if (e instanceof NotFound) return undefined;
      throw e;
    }
  }

  async list<T>(project: string, path: string): Promise<T[]> {
    const out: T[] = [];
    let token = '';
    do {
      const page = (await this.#call(
        project,
        'GET',
        `${path}${token ? `?pageToken=${encodeURIComponent(token)}` : ''}`,
      )) as { items?: T[]; nextPageToken?: string };
      out.push(...(page.items ?? []));
      token = page.nextPageToken ?? '';
    } while (token);
    return out;
  }

  /** A mutation, waited for until its operation is DONE; an operation error is thrown. */
  async mutate(project: string, method: 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<void> {
    let op = (await this.#call(project, method, path, body)) as ComputeOperation;
    const scope = op.region ? `regions/${op.region.split('/').pop()}/operations` : 'global/operations';
    for (let i = 0; op.status !== 'DONE' && i < 20; i++)
      op = (await this.#call(project, 'POST', `${scope}/${op.name}/wait`)) as ComputeOperation;
    if (op.status !== 'DONE')
      throw fromOperation({ code: 4, message: `operation ${op.name} did not finish` });
    const err = op.error?.errors?.[0];
    if (err) throw fromOperation({ code: 9, message: `${err.code}: ${err.message}` });
  }
}

interface ComputeOperation {
  name: string;
  status: string;
  region?: string;
  error?: { errors?: { code?: string; message?: string }[] };
}
