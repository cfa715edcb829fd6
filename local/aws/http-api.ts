/**
 * API Gateway HTTP APIs of the local cloud: routes (`POST /links/{id}/approvals`, `$default`) to
 * Lambda functions with the payload format 2.0 event, authorized by IAM (the caller's SigV4 is
 * verified against the local identities, as the AWS edge does, and its principal goes to
 * `requestContext.authorizer.iam`) or by a JWT authorizer (RS256 against the issuer's JWKS, issuer,
 * audience, expiry on the virtual clock; claims in `requestContext.authorizer.jwt.claims`).
 * Each API listens on its own 127.0.0.1 port. Every answer counts in the API's `AWS/ApiGateway`
 * metrics (`Count`, `4xx`, `5xx`: common/api-metrics.ts).
 */
import { createPublicKey, type JsonWebKey, randomUUID, verify as verifySig } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { recordApiRequest } from './common/api-metrics.ts';
import type { Principal } from './credentials.ts';
import { authorizeEngineCall, EngineAccessDenied } from './iam/enforce.ts';
import type { World } from './service.ts';
import { lambdaRuntime } from './services/lambda.ts';
import { AuthRefusal, parseAuth, type SignedRequest, verifySignature } from './sigv4.ts';

export type RouteAuth =
  | { type: 'NONE' }
  | { type: 'AWS_IAM' }
  | { type: 'JWT'; issuer: string; audience: string[]; jwksUri?: string; jwks?: { keys: JsonWebKey[] } };

export interface HttpRoute {
  /** `METHOD /path/{param}`, `ANY /path/{proxy+}` or `$default`. */
  routeKey: string;
  functionName: string;
  auth: RouteAuth;
}

interface CompiledRoute extends HttpRoute {
  method: string;
  regex?: RegExp;
  params: string[];
}

export class HttpApi {
  readonly apiId: string;
  readonly #world: World;
  readonly #accountId: string;
  readonly #region: string;
  readonly #routes: CompiledRoute[] = [];
  readonly #jwksCache = new Map<string, { keys: JsonWebKey[] }>();
  #server: Server | undefined;
  #port = 0;

  constructor(world: World, options: { accountId: string; region: string; apiId?: string }) {
    this.#world = world;
    this.#accountId = options.accountId;
    this.#region = options.region;
    this.apiId = options.apiId ?? world.random.chars(10);
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Removes the route with this key (DeleteRoute): its requests then answer as unmatched. */
  removeRoute(routeKey: string): void {
    const i = this.#routes.findIndex((r) => r.routeKey === routeKey);
    if (i >= 0) this.#routes.splice(i, 1);
  }

  addRoute(route: HttpRoute): void {
    if (route.routeKey === '$default') {
      this.#routes.push({ ...route, method: 'ANY', params: [] });
      return;
    }
    const [method, path] = route.routeKey.split(' ') as [string, string];
    const params: string[] = [];
    const pattern = path
      .split('/')
      .map((seg) => {
        const greedy = /^\{(\w+)\+\}$/.exec(seg);
        if (greedy) {
          params.push(greedy[1] as string);
          return '(.+)';
        }
        const p = /^\{(\w+)\}$/.exec(seg);
        if (p) {
          params.push(p[1] as string);
          return '([^/]+)';
        }
        return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.#routes.push({ ...route, method: method.toUpperCase(), regex: new RegExp(`^${pattern}$`), params });
  }

  async listen(port = 0): Promise<number> {
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    return this.#port;
  }

  async close(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s)
      await new Promise<void>((r) => {
        s.close(() => r());
        s.closeAllConnections();
      });
  }

  #match(
    method: string,
    path: string,
  ): { route: CompiledRoute; pathParameters: Record<string, string> } | undefined {
    // Most specific first: exact method beats ANY, $default last.
    const ordered = [...this.#routes].sort(
      (a, b) =>
        Number(!a.regex) - Number(!b.regex) || Number(a.method === 'ANY') - Number(b.method === 'ANY'),
    );
    for (const route of ordered) {
      if (!route.regex) return { route, pathParameters: {} };
      if (route.method !== 'ANY' && route.method !== method) continue;
      const m = route.regex.exec(path);
      if (!m) continue;
      const pathParameters: Record<string, string> = {};
      route.params.forEach((p, i) => {
        pathParameters[p] = decodeURIComponent(m[i + 1] as string);
      });
      return { route, pathParameters };
    }
    return undefined;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Every answer, the authorizer's refusals included, is a sample of the API's metrics.
    res.once('finish', () =>
      recordApiRequest(this.#world, {
        accountId: this.#accountId,
        region: this.#region,
        apiId: this.apiId,
        stage: '$default',
        at: this.#world.clock.now(),
        status: res.statusCode,
      }),
    );
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'apigw-requestid': randomUUID(),
        ...headers,
      });
      res.end(text);
    };
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const rawUrl = req.url ?? '/';
      const q = rawUrl.indexOf('?');
      const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
      const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
      const method = (req.method ?? 'GET').toUpperCase();
      const matched = this.#match(method, decodeURI(path));
      if (!matched) {
        send(404, { message: 'Not Found' });
        return;
      }
      const { route, pathParameters } = matched;
      let authorizer: Record<string, unknown> | undefined;
      if (route.auth.type === 'AWS_IAM') {
        const iam = this.#verifyIam({ method, path, query: rawQuery, headers: req.headers, body });
        if (!iam) {
          send(403, { message: 'Forbidden' });
          return;
        }
        // The caller's policies must allow execute-api:Invoke on the route (API Gateway answers 403).
        try {
          authorizeEngineCall(
            this.#world,
            { session: iam.principal },
            'execute-api:Invoke',
            this.#routeArn(method, path),
          );
        } catch (refusal) {
          if (!(refusal instanceof EngineAccessDenied)) throw refusal;
          send(403, { Message: refusal.message });
          return;
        }
        authorizer = { iam: iam.view };
      } else if (route.auth.type === 'JWT') {
        const claims = await this.#verifyJwt(route.auth, req.headers.authorization);
        if (!claims) {
          send(401, { message: 'Unauthorized' }, { 'www-authenticate': 'Bearer' });
          return;
        }
        const scope = typeof claims.scope === 'string' ? claims.scope.split(' ') : undefined;
        authorizer = { jwt: { claims, scopes: scope ?? null } };
      }
      const now = this.#world.clock.now();
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
      const query = new URLSearchParams(rawQuery);
      const queryStringParameters: Record<string, string> = {};
      for (const k of new Set(query.keys())) queryStringParameters[k] = query.getAll(k).join(',');
      const text = body.toString('utf8');
      const binary = body.length > 0 && Buffer.from(text, 'utf8').compare(body) !== 0;
      const event = {
        version: '2.0',
        routeKey: route.routeKey,
        rawPath: path,
        rawQueryString: rawQuery,
        headers,
        queryStringParameters: rawQuery ? queryStringParameters : undefined,
        pathParameters: Object.keys(pathParameters).length ? pathParameters : undefined,
        requestContext: {
          accountId: this.#accountId,
          apiId: this.apiId,
          authorizer,
          domainName: headers.host ?? '127.0.0.1',
          domainPrefix: this.apiId,
          http: {
            method,
            path,
            protocol: `HTTP/${req.httpVersion}`,
            sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
            userAgent: headers['user-agent'] ?? '',
          },
          requestId: randomUUID(),
          routeKey: route.routeKey,
          stage: '$default',
          time: new Date(now).toUTCString(),
          timeEpoch: now,
        },
        body: body.length ? (binary ? body.toString('base64') : text) : undefined,
        isBase64Encoded: binary,
      };
      const runtime = lambdaRuntime(this.#world, this.#accountId, this.#region);
      // API Gateway invokes as its service principal: the function's permissions must allow this API.
      try {
        authorizeEngineCall(
          this.#world,
          {
            service: 'apigateway.amazonaws.com',
            sourceArn: this.#routeArn(method, path),
            sourceAccount: this.#accountId,
          },
          'lambda:InvokeFunction',
          runtime.get(route.functionName).arn,
        );
      } catch (refusal) {
        if (!(refusal instanceof EngineAccessDenied)) throw refusal;
        this.#world.log(`http api ${this.apiId}: ${refusal.message}`);
        send(500, { message: 'Internal Server Error' });
        return;
      }
      const out = await runtime.invoke(route.functionName, event);
      if (out.functionError) {
        send(500, { message: 'Internal Server Error' });
        return;
      }
      const r = out.payload as Record<string, unknown> | null;
      // Payload 2.0: a result with statusCode is a response; anything else is a 200 JSON body.
      if (r && typeof r === 'object' && 'statusCode' in r) {
        const h = Object.fromEntries(
          Object.entries((r.headers as Record<string, unknown>) ?? {}).map(([k, v]) => [k, String(v)]),
        );
        const b = r.body === undefined ? '' : String(r.body);
        res.writeHead(Number(r.statusCode), { 'content-type': 'application/json', ...h });
        res.end(r.isBase64Encoded ? Buffer.from(b, 'base64') : b);
        return;
      }
      send(200, r);
    } catch (err) {
      this.#world.log(`http api ${this.apiId}: ${(err as Error).stack ?? String(err)}`);
      send(500, { message: 'Internal Server Error' });
    }
  }

  /** The route's execute-api ARN as IAM sees a request to it (`<api>/<stage>/<METHOD>/<path>`). */
  #routeArn(method: string, path: string): string {
    return `arn:aws:execute-api:${this.#region}:${this.#accountId}:${this.apiId}/$default/${method}${path}`;
  }

  /** The SigV4 caller for an `execute-api` request, or undefined when refused. */
  #verifyIam(req: SignedRequest): { principal: Principal; view: Record<string, unknown> } | undefined {
    try {
      const auth = parseAuth(req);
      if (auth.service !== 'execute-api') return undefined;
      const record = this.#world.credentials.get(auth.accessKeyId);
      if (!record) return undefined;
      if (record.sessionToken !== undefined && auth.sessionToken !== record.sessionToken) return undefined;
      if (record.expiresAt !== undefined && this.#world.clock.now() > record.expiresAt) return undefined;
      verifySignature(req, auth, record.secretAccessKey, [Date.now(), this.#world.clock.now()]);
      const p = record.principal;
      return {
        principal: p,
        view: {
          accessKey: p.accessKeyId,
          accountId: p.accountId,
          callerId: p.accessKeyId,
          cognitoIdentity: null,
          principalOrgId: null,
          userArn: p.arn,
          userId: p.accessKeyId,
        },
      };
    } catch (err) {
      if (err instanceof AuthRefusal) return undefined;
      throw err;
    }
  }

  async #verifyJwt(
    auth: Extract<RouteAuth, { type: 'JWT' }>,
    header: string | undefined,
  ): Promise<Record<string, unknown> | undefined> {
    if (!header) return undefined;
    const token = header.replace(/^Bearer\s+/i, '');
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    let head: { alg?: string; kid?: string };
    let claims: Record<string, unknown>;
    try {
      head = JSON.parse(Buffer.from(parts[0] as string, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (head.alg !== 'RS256') return undefined;
    const jwks = await this.#jwks(auth);
    const jwk =
      jwks.keys.find((k) => (k as { kid?: string }).kid === head.kid) ??
      (head.kid === undefined ? jwks.keys[0] : undefined);
    if (!jwk) return undefined;
    const ok = verifySig(
      'RSA-SHA256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      createPublicKey({ key: jwk, format: 'jwk' }),
      Buffer.from(parts[2] as string, 'base64url'),
    );
    if (!ok) return undefined;
    if (claims.iss !== auth.issuer) return undefined;
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud ?? claims.client_id];
    if (!aud.some((a) => auth.audience.includes(String(a)))) return undefined;
    const nowSec = this.#world.clock.now() / 1000;
    if (typeof claims.exp === 'number' && nowSec >= claims.exp) return undefined;
    if (typeof claims.nbf === 'number' && nowSec < claims.nbf) return undefined;
    return claims;
  }

  async #jwks(auth: Extract<RouteAuth, { type: 'JWT' }>): Promise<{ keys: JsonWebKey[] }> {
    if (auth.jwks) return auth.jwks;
    let uri = auth.jwksUri;
    if (!uri) {
      const conf = (await (
        await fetch(`${auth.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)
      ).json()) as { jwks_uri: string };
      uri = conf.jwks_uri;
    }
    const cached = this.#jwksCache.get(uri);
    if (cached) return cached;
    const keys = (await (await fetch(uri)).json()) as { keys: JsonWebKey[] };
    this.#jwksCache.set(uri, keys);
    return keys;
  }
}
