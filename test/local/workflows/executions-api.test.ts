import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { VirtualClock } from '#local/clock.ts';
import { startWorkflowsApi, type WorkflowsApiServer } from '#local/gcp/workflows-api.ts';
import { fetchHttp, type LogEntry, type TokenProvider } from '#local/workflows/ports.ts';
import { manualClock, until } from '../../support/timers.ts';
import { raised, run, yaml } from '../../support/workflows.ts';

const P = 'projects/demo/locations/us-central1/workflows';

/** A fake token provider whose tokens the test server below verifies. */
const tokens: TokenProvider = {
  accessToken: async (scopes) => `access:${scopes.join(' ')}`,
  idToken: async (audience) => `id:${audience}`,
};

interface Fake {
  url: string;
  server: Server;
  hits: { method: string; path: string; auth?: string; body: string }[];
  /** Status codes to answer in order (then 200). */
  script: number[];
}

async function fakeApi(): Promise<Fake> {
  const fake: Fake = { url: '', server: undefined as unknown as Server, hits: [], script: [] };
  fake.server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const hit: Fake['hits'][number] = {
      method: req.method ?? '',
      path: req.url ?? '',
      body: Buffer.concat(chunks).toString(),
    };
    if (req.headers.authorization) hit.auth = req.headers.authorization;
    fake.hits.push(hit);
    if (
      req.url?.startsWith('/secure') &&
      req.headers.authorization !== 'Bearer access:https://www.googleapis.com/auth/cloud-platform'
    ) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 401, message: 'missing or bad token' } }));
      return;
    }
    if (req.url?.startsWith('/oidc') && req.headers.authorization !== `Bearer id:${fake.url}/oidc`) {
      res.writeHead(401);
      res.end();
      return;
    }
    const status = fake.script.shift() ?? 200;
    res.writeHead(status, { 'content-type': 'application/json' });
    let echo: unknown = hit.body;
    try {
      echo = hit.body ? JSON.parse(hit.body) : null;
    } catch {
      // a form or text body is echoed as it came
    }
    res.end(JSON.stringify({ status, echo, query: req.url }));
  });
  await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  return fake;
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function withFake(): Promise<Fake> {
  const f = await fakeApi();
  cleanup.push(
    () =>
      new Promise((r) => {
        f.server.closeAllConnections();
        f.server.close(() => r());
      }),
  );
  return f;
}

describe('http.*', () => {
  it('posts JSON with OAuth2 tokens and returns {body, code, headers}', async () => {
    const f = await withFake();
    const r = await run(
      yaml`
      main:
        params: [base]
        steps:
          - create:
              call: http.post
              args:
                url: \${base + "/secure/transports"}
                query:
                  requestId: r-1
                body:
                  bandwidth: BPS_1G
                auth:
                  type: OAuth2
              result: resp
          - out:
              return: \${[resp.code, resp.body.echo, resp.body.query]}
    `,
      f.url,
      { http: fetchHttp, tokens },
    );
    expect(r.result).toEqual([200, { bandwidth: 'BPS_1G' }, '/secure/transports?requestId=r-1']);
    expect(f.hits[0]).toMatchObject({
      method: 'POST',
      auth: 'Bearer access:https://www.googleapis.com/auth/cloud-platform',
    });
    // 127.0.0.1 is not a Google host: the call is billed as an external step.
    expect(r.stepCount).toEqual({ internal: 1, external: 1, total: 2 });
  });

  it('sends OIDC ID tokens with the URL as default audience', async () => {
    const f = await withFake();
    const r = await run(
      yaml`
      main:
        params: [base]
        steps:
          - call:
              call: http.get
              args:
                url: \${base + "/oidc"}
                auth:
                  type: OIDC
              result: resp
          - out:
              return: \${resp.code}
    `,
      f.url,
      { http: fetchHttp, tokens, isInternalUrl: () => true },
    );
    expect(r.result).toBe(200);
    expect(r.stepCount).toEqual({ internal: 2, external: 0, total: 2 });
  });

  it('put, patch, delete and request send their methods; headers and form bodies pass through', async () => {
    const f = await withFake();
    const r = await run(
      yaml`
      main:
        params: [base]
        steps:
          - p1:
              call: http.put
              args:
                url: \${base + "/a"}
                body: {x: 1}
          - p2:
              call: http.patch
              args:
                url: \${base + "/b"}
                headers:
                  Content-Type: application/x-www-form-urlencoded
                body:
                  k: v w
          - p3:
              call: http.delete
              args:
                url: \${base + "/c"}
          - p4:
              call: http.request
              args:
                method: options
                url: \${base + "/d"}
                timeout: 5
              result: last
          - out:
              return: \${last.code}
    `,
      f.url,
      { http: fetchHttp },
    );
    expect(r.result).toBe(200);
    expect(f.hits.map((h) => `${h.method} ${h.path} ${h.body}`)).toEqual([
      'PUT /a {"x":1}',
      'PATCH /b k=v+w',
      'DELETE /c ',
      'OPTIONS /d ',
    ]);
  });

  it('a 4xx/5xx raises HttpError {message, code, headers, body, tags}', async () => {
    const f = await withFake();
    const r = await run(
      yaml`
      main:
        params: [base]
        steps:
          - call:
              call: http.get
              args:
                url: \${base + "/secure/x"}
    `,
      f.url,
      { http: fetchHttp },
    );
    const e = raised(r) as Record<string, unknown>;
    expect(e).toMatchObject({
      message: 'HTTP server responded with error code 401',
      code: 401,
      tags: ['HttpError'],
      body: { error: { code: 401, message: 'missing or bad token' } },
    });
    expect((e.headers as Record<string, string>)['content-type']).toBe('application/json');
  });

  it('http.default_retry retries 503 and 429 with backoff but not 500', async () => {
    const f = await withFake();
    const def = yaml`
      main:
        params: [base]
        steps:
          - create:
              try:
                call: http.post
                args:
                  url: \${base + "/transports"}
                  body: {}
                result: resp
              retry: \${http.default_retry}
          - out:
              return: \${resp.code}
    `;
    f.script = [503, 429, 502];
    const ok = await run(def, f.url, { http: fetchHttp });
    expect(ok.result).toBe(200);
    expect(f.hits).toHaveLength(4);
    f.hits.length = 0;
    f.script = [500, 503];
    const bad = await run(def, f.url, { http: fetchHttp });
    expect(raised(bad)).toMatchObject({ code: 500, tags: ['HttpError'] });
    expect(f.hits).toHaveLength(1);
  });

  it('a refused connection is ConnectionFailedError, which default_retry retries', async () => {
    const f = await withFake();
    const dead = f.url;
    await new Promise<void>((r) => f.server.close(() => r()));
    cleanup.length = 0;
    const r = await run(
      yaml`
      main:
        params: [base]
        steps:
          - call:
              try:
                call: http.get
                args:
                  url: \${base}
              retry:
                predicate: \${http.default_retry_predicate}
                max_retries: 2
    `,
      dead,
      { http: fetchHttp },
    );
    expect(raised(r)).toMatchObject({ tags: ['ConnectionFailedError'] });
    expect(r.steps).toHaveLength(3);
  });

  it('auth without a token provider is an AuthError', async () => {
    const r = await run(
      yaml`
      - call:
          call: http.get
          args:
            url: https://transportmanager.googleapis.com/v1/x
            auth:
              type: OAuth2
    `,
      undefined,
      { http: fetchHttp },
    );
    expect(raised(r)).toMatchObject({ tags: ['AuthError'] });
  });
});

describe('Executions API and callbacks', () => {
  let api: WorkflowsApiServer;
  let clock: VirtualClock;
  let logs: LogEntry[];

  async function start(): Promise<void> {
    clock = manualClock();
    logs = [];
    api = await startWorkflowsApi({ clock, ports: { log: (e) => logs.push(e) } });
    cleanup.push(() => api.close());
  }

  async function call(method: string, path: string, body?: unknown) {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return {
      status: res.status, // biome-ignore lint/suspicious/noExplicitAny: API responses are read loosely in assertions
      body: (await res.json()) as Record<string, any>,
    };
  }

  const approval = yaml`
    main:
      params: [input]
      steps:
        - make:
            call: events.create_callback_endpoint
            args:
              http_callback_method: POST
            result: cb
        - tell:
            call: sys.log
            args:
              json: \${cb}
        - wait:
            try:
              call: events.await_callback
              args:
                callback: \${cb}
                timeout: \${input.timeout}
              result: req
            except:
              as: e
              steps:
                - expired:
                    switch:
                      - condition: \${input.catch and "TimeoutError" in e.tags}
                        return: EXPIRED
                - rethrow:
                    raise: \${e}
        - out:
            return: \${req.http_request.body.decision}
  `;

  it('create -> ACTIVE; a POST to the callback URL resumes it -> SUCCEEDED with the result', async () => {
    await start();
    api.service.deploy('demo', 'us-central1', 'approve', approval);
    const created = await call('POST', `/v1/${P}/approve/executions`, {
      argument: JSON.stringify({ timeout: 3600, catch: true }),
      labels: { 'crosslink-key': 'lk-1-provisioning-1' },
    });
    expect(created.status).toBe(200);
    expect(created.body.state).toBe('ACTIVE');
    const name = created.body.name as string;
    await until(() => api.service.callbacks.waiting(name) === 1);
    const url = (logs[0]!.json as { url: string }).url;
    expect(url.startsWith(`${api.url}/v1/${name}/callbacks/`)).toBe(true);
    expect(api.service.logs(name)).toEqual([
      expect.objectContaining({ execution: name, step: 'tell', json: { url } }),
    ]);

    const cb = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"decision":"APPROVED"}',
    });
    expect(cb.status).toBe(200);
    const outcome = await api.service.wait(name);
    expect(outcome.state).toBe('SUCCEEDED');
    const got = await call('GET', `/v1/${name}`);
    expect(got.body).toMatchObject({
      state: 'SUCCEEDED',
      result: '"APPROVED"',
      labels: { 'crosslink-key': 'lk-1-provisioning-1' },
    });
    // The endpoint is gone once the execution ended.
    expect((await fetch(url, { method: 'POST', body: '{}' })).status).toBe(404);
    // Listing by label finds it (the crash-safe starter relies on this: docs/architecture.md, "Execution names").
    const list = await call(
      'GET',
      `/v1/${P}/approve/executions?filter=${encodeURIComponent('labels.crosslink-key="lk-1-provisioning-1"')}`,
    );
    expect(list.body.executions.map((e: { name: string }) => e.name)).toEqual([name]);
  });

  it('the timeout path raises TimeoutError on the virtual clock', async () => {
    await start();
    api.service.deploy('demo', 'us-central1', 'approve', approval);
    const created = await call('POST', `/v1/${P}/approve/executions`, {
      argument: '{"timeout": 3600, "catch": false}',
    });
    const name = created.body.name as string;
    await until(() => api.service.callbacks.waiting(name) === 1);
    await clock.advance(3_599_000);
    expect((await call('GET', `/v1/${name}`)).body.state).toBe('ACTIVE');
    await clock.advance(1_000);
    await api.service.wait(name);
    const got = await call('GET', `/v1/${name}`);
    expect(got.body.state).toBe('FAILED');
    expect(JSON.parse(got.body.error.payload)).toMatchObject({ tags: ['TimeoutError'] });
    expect(got.body.error.context).toContain('TimeoutError: Timeout occurred while waiting for a callback');
    expect(got.body.error.stackTrace.elements[0]).toMatchObject({ step: 'rethrow', routine: 'main' });
  });

  it('a caught timeout lets the workflow choose (EXPIRED)', async () => {
    await start();
    api.service.deploy('demo', 'us-central1', 'approve', approval);
    const created = await call('POST', `/v1/${P}/approve/executions`, {
      argument: '{"timeout": 60, "catch": true}',
    });
    const name = created.body.name as string;
    await until(() => api.service.callbacks.waiting(name) === 1);
    await clock.advance(60_000);
    await api.service.wait(name);
    expect((await call('GET', `/v1/${name}`)).body).toMatchObject({
      state: 'SUCCEEDED',
      result: '"EXPIRED"',
    });
  });

  it('a callback that arrives before the await is kept; a wrong method is refused', async () => {
    await start();
    api.service.deploy(
      'demo',
      'us-central1',
      'early',
      yaml`
      - make:
          call: events.create_callback_endpoint
          result: cb
      - tell:
          call: sys.log
          args:
            json: \${cb}
      - nap:
          call: sys.sleep
          args:
            seconds: 30
      - wait:
          call: events.await_callback
          args:
            callback: \${cb}
          result: req
      - out:
          return: \${req.http_request.body}
    `,
    );
    const name = (await call('POST', `/v1/${P}/early/executions`, {})).body.name as string;
    await until(() => logs.length === 1);
    const url = (logs[0]!.json as { url: string }).url;
    expect((await fetch(url, { method: 'GET' })).status).toBe(400);
    expect((await fetch(url, { method: 'POST', body: 'plain text' })).status).toBe(200);
    await clock.advance(30_000);
    expect((await api.service.wait(name)).result).toBe('plain text');
  });

  it('cancel stops a waiting execution; errors use Google API shapes', async () => {
    await start();
    api.service.deploy('demo', 'us-central1', 'approve', approval);
    const name = (await call('POST', `/v1/${P}/approve/executions`, { argument: '{"timeout": 100}' })).body
      .name as string;
    await until(() => api.service.callbacks.waiting(name) === 1);
    const c = await call('POST', `/v1/${name}:cancel`);
    expect(c.body.state).toBe('CANCELLED');
    expect((await api.service.wait(name)).state).toBe('CANCELLED');
    expect((await call('POST', `/v1/${name}:cancel`)).status).toBe(400);
    const missing = await call('POST', `/v1/${P}/nope/executions`, {});
    expect(missing).toMatchObject({ status: 404, body: { error: { status: 'NOT_FOUND' } } });
    const badArg = await call('POST', `/v1/${P}/approve/executions`, { argument: '{nope' });
    expect(badArg.body.error.status).toBe('INVALID_ARGUMENT');
  });

  it('lists by state with pages; authorize can refuse callers with 403', async () => {
    clock = manualClock();
    let allowed = true;
    api = await startWorkflowsApi({ clock, authorize: () => allowed });
    cleanup.push(() => api.close());
    api.service.deploy('demo', 'us-central1', 'quick', '- r:\n    return: 1\n');
    const names: string[] = [];
    for (let i = 0; i < 3; i++) names.push((await call('POST', `/v1/${P}/quick/executions`, {})).body.name);
    for (const n of names) await api.service.wait(n);
    const page1 = await call(
      'GET',
      `/v1/${P}/quick/executions?pageSize=2&filter=${encodeURIComponent('state="SUCCEEDED"')}`,
    );
    expect(page1.body.executions.map((e: { name: string }) => e.name)).toEqual([names[2], names[1]]);
    const page2 = await call(
      'GET',
      `/v1/${P}/quick/executions?pageSize=2&view=FULL&pageToken=${page1.body.nextPageToken}`,
    );
    // `result` (like labels and argument) is in the FULL view only; BASIC is the default.
    expect(page2.body).toEqual({ executions: [expect.objectContaining({ name: names[0], result: '1' })] });
    expect(page1.body.executions[0].result).toBeUndefined();
    const none = await call(
      'GET',
      `/v1/${P}/quick/executions?filter=${encodeURIComponent('state="ACTIVE"')}`,
    );
    expect(none.body.executions).toEqual([]);
    expect((await call('GET', `/v1/${P}/quick/executions?filter=bogus`)).status).toBe(400);
    allowed = false;
    expect(await call('POST', `/v1/${P}/quick/executions`, {})).toMatchObject({
      status: 403,
      body: { error: { status: 'PERMISSION_DENIED' } },
    });
  });

  it('deploys a workflow with warnings only (the cloud accepts an unreachable step)', async () => {
    await start();
    expect(
      api.service.deploy('demo', 'us-central1', 'warn', '- a:\n    return: 1\n- b:\n    return: 2\n'),
    ).toMatch(/^\d{6}-/);
  });

  it('refuses to deploy a workflow with problems', async () => {
    await start();
    expect(() =>
      api.service.deploy(
        'demo',
        'us-central1',
        'bad',
        yaml`
        - a:
            next: nowhere
        `,
      ),
    ).toThrow(/line 1: step "a": next target "nowhere" is not a step it can reach/);
    expect(() => api.service.deploy('demo', 'us-central1', 'bad', '- a:\n    frobnicate: 1\n')).toThrow(
      /unsupported construct "frobnicate"/,
    );
  });
});

describe('Google APIs through the local edge', () => {
  it('routes https://*.googleapis.com to the edge with the original host, billed as internal', async () => {
    const f = await withFake();
    const { viaLocalGoogleEdge, defaultIsInternalUrl } = await import('#local/workflows/ports.ts');
    const seen: string[] = [];
    const http = viaLocalGoogleEdge(f.url, async (req) => {
      seen.push(`${req.url} ${req.headers['x-forwarded-host']}`);
      return fetchHttp(req);
    });
    const r = await run(
      yaml`
      - get:
          call: http.get
          args:
            url: https://networkconnectivity.googleapis.com/v1/projects/p/locations/l/transports/lk-1
            auth:
              type: OAuth2
          result: resp
      - out:
          return: \${resp.code}
    `,
      undefined,
      { http, tokens, isInternalUrl: defaultIsInternalUrl },
    );
    expect(r.result).toBe(200);
    expect(seen).toEqual([
      `${f.url}/v1/projects/p/locations/l/transports/lk-1 networkconnectivity.googleapis.com`,
    ]);
    expect(r.stepCount).toEqual({ internal: 2, external: 0, total: 2 });
  });

  it("routes a function's https://<region>-<project>.cloudfunctions.net URL to the edge's function path", async () => {
    const { viaLocalGoogleEdge } = await import('#local/workflows/ports.ts');
    const seen: string[] = [];
    const http = viaLocalGoogleEdge('http://127.0.0.1:9', async (req) => {
      seen.push(req.url);
      return { status: 200, headers: {}, body: new Uint8Array() };
    });
    await http({
      method: 'POST',
      url: 'https://us-east4-demo.cloudfunctions.net/steps/park?x=1',
      headers: {},
      timeoutMs: 1000,
    });
    await http({
      method: 'GET',
      url: 'https://example.com/cloudfunctions.net',
      headers: {},
      timeoutMs: 1000,
    });
    expect(seen).toEqual([
      'http://127.0.0.1:9/us-east4-demo.cloudfunctions.net/steps/park?x=1',
      'https://example.com/cloudfunctions.net',
    ]);
  });
});
