/**
 * The Google REST clients' one retry policy (functions/gcp/retry.ts), against a scripted HTTP server
 * on loopback: real fetch, real connection failures (the server destroys the socket), and each
 * client's use of it (which calls retry, which never do, and the errors each client raises).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { scheduler } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RouterSessions } from '#gcp/bgp-sessions.ts';
import { CallbackError, callbackTokens } from '#gcp/callback-tokens.ts';
import { ComputeRest } from '#gcp/compute-rest.ts';
import { NotFound, ResourceExhausted, Unauthenticated, Unavailable } from '#gcp/google-errors.ts';
import { type AuthorizedFetch, RetryPolicy, sendAuthorized } from '#gcp/retry.ts';
import { MonitoringRest } from '#gcp/vpn-traffic.ts';
import { WorkflowExecutionsClient } from '#gcp/workflow-executions.ts';

/** One scripted answer, or `drop` to close the connection without one. */
type Answer = { status: number; headers?: Record<string, string>; body?: unknown } | 'drop';

let server: Server;
let base: string;
let script: Answer[];
let seen: { method: string; path: string; authorization: string | undefined; body: string }[];

const read = async (req: IncomingMessage) => {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
};

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await read(req);
    seen.push({ method: req.method!, path: req.url!, authorization: req.headers.authorization, body });
    const answer = script.shift() ?? { status: 200, body: {} };
    if (answer === 'drop') {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(JSON.stringify(answer.body ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

let sleeps: number[];
const record = async (ms: number) => {
  sleeps.push(ms);
};
beforeEach(() => {
  script = [];
  seen = [];
  sleeps = [];
});

const token = { getAccessToken: async () => ({ token: 'ya29.good' }) };
function api(options: Partial<AuthorizedFetch> & { maxRetries?: number } = {}): AuthorizedFetch {
  return {
    auth: token,
    fetch,
    policy: new RetryPolicy({ maxRetries: options.maxRetries ?? 3, random: () => 0.5, sleep: record }),
    noToken: () => new Error('no token'),
    ...options,
  };
}
const get = (retry = true) => ({ method: 'GET', url: `${base}/v1/thing`, retry });

describe('RetryPolicy', () => {
  it('backs off exponentially with full jitter, up to the cap', () => {
    const top = new RetryPolicy({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999 });
    expect([0, 1, 2, 3, 4, 5].map((n) => top.backoff(n))).toEqual([99, 199, 399, 799, 999, 999]);
    const bottom = new RetryPolicy({ random: () => 0 });
    expect(bottom.backoff(3)).toBe(0);
    expect(new RetryPolicy({ random: () => 0.5 }).backoff(1)).toBe(500);
  });

  it('waits through clock.ts sleep (scheduler.wait) unless given its own', async () => {
    const wait = vi.spyOn(scheduler, 'wait').mockResolvedValue(undefined);
    try {
      await new RetryPolicy({ random: () => 0.5 }).wait(2);
      expect(wait).toHaveBeenCalledWith(1000);
    } finally {
      wait.mockRestore();
    }
  });
});

describe('sendAuthorized', () => {
  it('retries 429 and 503 with the backoff, and returns the answer that ends it', async () => {
    script = [{ status: 503 }, { status: 429 }, { status: 200, body: { ok: 1 } }];
    const res = await sendAuthorized(api(), get());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: 1 });
    expect(sleeps).toEqual([250, 500]);
    expect(seen.map((s) => s.authorization)).toEqual(Array(3).fill('Bearer ya29.good'));
  });

  it("waits the server's Retry-After (seconds) instead of the backoff", async () => {
    script = [{ status: 429, headers: { 'retry-after': '7' } }, { status: 200 }];
    expect((await sendAuthorized(api(), get())).status).toBe(200);
    expect(sleeps).toEqual([7000]);
  });

  it('waits no longer than the longest backoff, whatever Retry-After asks', async () => {
    script = [{ status: 503, headers: { 'retry-after': '3600' } }, { status: 200 }];
    expect((await sendAuthorized(api(), get())).status).toBe(200);
    expect(sleeps).toEqual([30_000]);
  });

  it('retries a connection failure, and surfaces it (through connectionFailed) when retries run out', async () => {
    script = ['drop', { status: 200 }];
    expect((await sendAuthorized(api(), get())).status).toBe(200);
    expect(sleeps).toEqual([250]);

    script = ['drop', 'drop', 'drop'];
    sleeps = [];
    const failed = await sendAuthorized(
      api({ maxRetries: 2, connectionFailed: (e) => new Error(`lost: ${e.message}`) }),
      get(),
    ).catch((e: Error) => e);
    expect((failed as Error).message).toMatch(/^lost: /);
    expect(sleeps).toHaveLength(2);
  });

  it('in a storm: maxRetries retries, then the last answer', async () => {
    script = Array(5).fill({ status: 503 });
    const res = await sendAuthorized(api({ maxRetries: 2 }), get());
    expect(res.status).toBe(503);
    expect(seen).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  it('with retry: false, sends once: a 503 is returned and a connection failure thrown', async () => {
    script = [{ status: 503 }];
    expect((await sendAuthorized(api(), get(false))).status).toBe(503);
    script = ['drop'];
    await expect(sendAuthorized(api(), get(false))).rejects.toThrow();
    expect(seen).toHaveLength(2);
    expect(sleeps).toEqual([]);
  });

  it('returns any other failure at once (500, 404)', async () => {
    script = [{ status: 500 }, { status: 404 }];
    expect((await sendAuthorized(api(), get())).status).toBe(500);
    expect((await sendAuthorized(api(), get())).status).toBe(404);
    expect(seen).toHaveLength(2);
    expect(sleeps).toEqual([]);
  });

  it('on a 401, marks the cached token expired and sends once more (not a retry); a second 401 is returned', async () => {
    const tokens = ['ya29.stale', 'ya29.fresh', 'ya29.fresh'];
    const auth = {
      credentials: { access_token: 'ya29.stale' } as { access_token?: string; expiry_date?: number | null },
      getAccessToken: async () => ({ token: tokens.shift() ?? null }),
      setCredentials(c: { expiry_date?: number | null }) {
        this.credentials = c;
      },
    };
    script = [{ status: 401 }, { status: 200 }];
    expect((await sendAuthorized(api({ auth, maxRetries: 0 }), get())).status).toBe(200);
    expect(auth.credentials.expiry_date).toBe(1);
    expect(seen.map((s) => s.authorization)).toEqual(['Bearer ya29.stale', 'Bearer ya29.fresh']);

    script = [{ status: 401 }, { status: 401 }];
    seen = [];
    tokens.push('ya29.again', 'ya29.again');
    expect((await sendAuthorized(api({ auth }), get())).status).toBe(401);
    expect(seen).toHaveLength(2);
    expect(sleeps).toEqual([]);
  });

  it('without an access token, sends nothing and throws noToken', async () => {
    const auth = { getAccessToken: async () => ({ token: null }) };
    await expect(sendAuthorized(api({ auth }), get())).rejects.toThrow('no token');
    expect(seen).toEqual([]);
  });

  it('sends a JSON body with its content type', async () => {
    await sendAuthorized(api(), { method: 'POST', url: `${base}/v1/x`, body: { a: 1 }, retry: true });
    expect(seen[0]).toMatchObject({ method: 'POST', body: '{"a":1}' });
  });
});

describe('the clients under the policy', () => {
  const WF = 'projects/p/locations/l/workflows/w';
  const executions = () =>
    new WorkflowExecutionsClient({ auth: token, endpoint: base, sleep: record, random: () => 0.5 });

  it('Workflows executions: create is never retried (no request id); list and cancel are', async () => {
    script = [{ status: 503, body: { error: { code: 503, status: 'UNAVAILABLE', message: 'busy' } } }];
    await expect(executions().create(WF, { argument: {} })).rejects.toBeInstanceOf(Unavailable);
    expect(seen).toHaveLength(1);
    script = ['drop'];
    await expect(executions().create(WF, { argument: {} })).rejects.toThrow();
    expect(seen).toHaveLength(2);

    seen = [];
    script = [
      { status: 503 },
      'drop',
      { status: 200, body: { executions: [{ name: `${WF}/executions/1` }] } },
    ];
    expect(await executions().list(WF, 'labels.k="v"')).toEqual([{ name: `${WF}/executions/1` }]);
    script = [{ status: 429 }, { status: 200, body: { name: `${WF}/executions/1`, state: 'CANCELLED' } }];
    expect((await executions().cancel(`${WF}/executions/1`)).state).toBe('CANCELLED');
    expect(seen).toHaveLength(5);
    expect(sleeps).toEqual([250, 500, 250]);
  });

  it('Workflows executions: no access token is Unauthenticated', async () => {
    const client = new WorkflowExecutionsClient({
      auth: { getAccessToken: async () => ({}) },
      endpoint: base,
    });
    await expect(client.list(WF, '')).rejects.toBeInstanceOf(Unauthenticated);
  });

  it('Workflows callbacks: retried on 503 and lost connections; a 404 is answered; exhausted is a CallbackError', async () => {
    const tokens = callbackTokens({
      auth: token,
      origin: base,
      sleep: record,
      random: () => 0.5,
      maxRetries: 2,
    });
    const url = `${base}/v1/${WF}/executions/e1/callbacks/c1`;
    script = [{ status: 503 }, 'drop', { status: 200 }];
    await tokens.success(url, { done: true });
    expect(seen.map((s) => s.body)).toEqual(Array(3).fill('{"output":{"done":true}}'));
    expect(sleeps).toEqual([250, 500]);

    script = [{ status: 404 }];
    await tokens.failure(url, 'LinkRejected', 'no');

    script = ['drop', 'drop', 'drop'];
    const lost = await tokens.success(url, {}).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(CallbackError);
    expect((lost as CallbackError).status).toBe(0);

    script = Array(3).fill({ status: 429 });
    const throttled = await tokens.success(url, {}).catch((e: unknown) => e);
    expect((throttled as CallbackError).status).toBe(429);
  });

  it('Compute Engine: reads and operation waits are retried on 429, 503 and lost connections, mutations on 429 and 503 only', async () => {
    const projects: string[] = [];
    const compute = (maxRetries = 5) =>
      new ComputeRest({
        authFor: (project) => {
          projects.push(project);
          return token;
        },
        endpoint: base,
        retry: { sleep: record, random: () => 0.5, maxRetries },
      });
    const throttled = {
      status: 429,
      body: { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'quota' } },
    };
    const tunnel = 'regions/us-east4/vpnTunnels/t1';

    script = [throttled, { status: 503 }, 'drop', { status: 200, body: { name: 't1' } }];
    expect(await compute().get('net-prj', tunnel)).toEqual({ name: 't1' });
    expect(seen.map((s) => s.path)).toEqual(Array(4).fill(`/compute/v1/projects/net-prj/${tunnel}`));
    expect(seen.every((s) => s.authorization === 'Bearer ya29.good')).toBe(true);
    expect(sleeps).toEqual([250, 500, 1000]);

    // A page throttled, then the next page.
    seen = [];
    script = [
      { status: 200, body: { items: [1], nextPageToken: 'p2' } },
      throttled,
      { status: 200, body: { items: [2] } },
    ];
    expect(await compute().list('net-prj', 'regions/us-east4/vpnTunnels')).toEqual([1, 2]);
    expect(seen.map((s) => s.path.split('?')[1])).toEqual([undefined, 'pageToken=p2', 'pageToken=p2']);

    // A delete throttled, then its operation's wait throttled, then DONE.
    seen = [];
    script = [
      throttled,
      { status: 200, body: { name: 'op-1', status: 'RUNNING', region: 'regions/us-east4' } },
      throttled,
      { status: 200, body: { name: 'op-1', status: 'DONE' } },
    ];
    await compute().mutate('net-prj', 'DELETE', tunnel);
    expect(seen.map((s) => `${s.method} ${s.path.replace('/compute/v1/projects/net-prj/', '')}`)).toEqual([
      `DELETE ${tunnel}`,
      `DELETE ${tunnel}`,
      'POST regions/us-east4/operations/op-1/wait',
      'POST regions/us-east4/operations/op-1/wait',
    ]);

    // A delete or a patch whose connection was lost is not sent again (it may have been applied):
    // the failure goes back to the step, which the workflow runs whole from what it reads.
    seen = [];
    script = ['drop', { status: 200, body: { name: 'op-2', status: 'DONE' } }];
    await expect(compute().mutate('net-prj', 'DELETE', tunnel)).rejects.toThrow();
    script = ['drop', { status: 200, body: { name: 'op-3', status: 'DONE' } }];
    await expect(compute().mutate('net-prj', 'PATCH', 'regions/us-east4/routers/r1', {})).rejects.toThrow();
    expect(seen.map((x) => x.method)).toEqual(['DELETE', 'PATCH']);
    // A 404 is the caller's to read (the half takes a delete's as gone).
    script = [{ status: 404, body: { error: { code: 404, status: 'NOT_FOUND', message: 'gone' } } }];
    await expect(compute().mutate('net-prj', 'DELETE', tunnel)).rejects.toBeInstanceOf(NotFound);

    // Throttled past its retries: ResourceExhausted, which the workflow retries the step on.
    seen = [];
    script = Array(3).fill(throttled);
    await expect(compute(2).get('net-prj', tunnel)).rejects.toBeInstanceOf(ResourceExhausted);
    expect(seen).toHaveLength(3);
    expect(new Set(projects)).toEqual(new Set(['net-prj']));
  });

  it('Compute Engine: no access token is Unauthenticated, naming the project, and nothing is sent', async () => {
    const compute = new ComputeRest({
      authFor: () => ({ getAccessToken: async () => ({}) }),
      endpoint: base,
    });
    const e = await compute.get('net-prj', 'global/externalVpnGateways/g').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Unauthenticated);
    expect((e as Error).message).toContain('net-prj');
    expect(seen).toEqual([]);
  });

  it('Cloud Monitoring and the router status reads: retried on 429, 503 and lost connections', async () => {
    const retry = { sleep: record, random: () => 0.5 };
    const throttled = {
      status: 429,
      body: { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'quota' } },
    };
    script = [
      throttled,
      'drop',
      { status: 200, body: { timeSeries: [{ points: [] }], nextPageToken: 'p2' } },
      { status: 503 },
      { status: 200, body: { timeSeries: [] } },
    ];
    const monitoring = new MonitoringRest({ authFor: () => token, endpoint: base, retry });
    expect(await monitoring.timeSeries('net-prj', { filter: 'f' })).toEqual([{ points: [] }]);
    expect(seen.map((x) => x.path.split('?')[0])).toEqual(Array(5).fill('/v3/projects/net-prj/timeSeries'));

    seen = [];
    script = [
      throttled,
      { status: 200, body: { result: { bgpPeerStatus: [{ name: 'p0', status: 'UP' }] } } },
    ];
    const sessions = new RouterSessions({ authFor: () => token, endpoint: base, retry });
    expect(await sessions.sessions('projects/net-prj/locations/us-east4/transports/t1')).toEqual([
      { id: 'p0', up: true },
    ]);
    expect(seen).toHaveLength(2);
    expect(sleeps).toEqual([250, 500, 250, 250]);
  });
});
