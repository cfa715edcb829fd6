/**
 * The Compute Engine v1 REST calls of the Google VPN half (functions/gcp/vpn-half.ts) and the VPN
 * inventory: reads, paged lists, and mutations waited for until their operation is done, each with
 * the credentials of the project it names (the hub's own, a network project's impersonated).
 *
 * Every call is sent under the Google clients' one retry policy (retry.ts): 429 and 503 are sent
 * again with backoff, and so is a read or an operation's wait whose connection was lost. A half's
 * step makes a dozen calls, so without it one throttled call in five fails most attempts whole, and
 * the workflow's five retries of the step run out. A 429 or 503 was not applied, so a patch or a
 * delete is sent again after one too (a router patch also carries the fingerprint it read: one
 * applied meanwhile fails 412 and the step reads again). A mutation whose connection was lost is
 * not: it may have been applied, and a delete sent again while Compute Engine still deletes answers
 * 400 `resourceNotReady`, not 404; the failure goes back to the workflow, which runs the step whole
 * from what it reads.
 */
import { fromHttp, fromOperation, NotFound } from './google-errors.ts';
import { ProjectApi, type ProjectApiOptions, readJson } from './retry.ts';

/** The Compute Engine v1 REST calls the half makes, each with the project's credentials. */
export class ComputeRest {
  readonly #api: ProjectApi;
  constructor(o: ProjectApiOptions) {
    this.#api = new ProjectApi(o, 'https://compute.googleapis.com', '/compute/v1/projects/');
  }

  async #call(project: string, method: string, path: string, body?: unknown): Promise<unknown> {
    const retry = method === 'GET' || path.endsWith('/wait') ? true : 'status';
    const res = await this.#api.send(project, method, path, retry, body);
    const json = await readJson(res);
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
