/**
 * Secret Manager subset (secretmanager.googleapis.com v1): create a secret, add a version (with the
 * optional `dataCrc32c` check), access a version (`latest` included), get, list and delete. Where
 * the activation key is stored the moment it is issued (docs/architecture.md, "Activation keys").
 */
import { crc32c, crc32cValue, int64Of } from '#core/crypto/crc32c.ts';
import { encodeEnums } from '../enums.ts';
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from '../errors.ts';
import { defineGcpService, type GcpRequestContext } from '../service.ts';

const ID_RE = /^[a-zA-Z0-9_-]{1,255}$/;
const MAX_PAYLOAD = 64 * 1024;
/** google.cloud.secretmanager.v1.SecretVersion.State numbers (for `enum-encoding=int`). */
const VERSION_STATE = { ENABLED: 1, DISABLED: 2, DESTROYED: 3 };

interface SecretVersion {
  name: string;
  createTime: string;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED';
  data: Buffer;
}

interface Secret {
  name: string;
  createTime: string;
  labels: Record<string, string>;
  replication: unknown;
  etag: string;
  versions: SecretVersion[];
}

interface SecretState {
  secrets: Map<string, Secret>;
}

type Ctx = GcpRequestContext<SecretState>;

const iso = (ms: number) => new Date(ms).toISOString();

function secretView(s: Secret) {
  return {
    name: s.name,
    replication: s.replication,
    createTime: s.createTime,
    ...(Object.keys(s.labels).length > 0 ? { labels: { ...s.labels } } : {}),
    etag: s.etag,
  };
}

function versionView(v: SecretVersion) {
  return {
    name: v.name,
    createTime: v.createTime,
    state: v.state,
    replicationStatus: { automatic: {} },
    etag: `"${v.createTime}"`,
    clientSpecifiedPayloadChecksum: true,
  };
}

function secretOf(ctx: Ctx): Secret {
  const name = `projects/${ctx.params.project}/secrets/${ctx.params.secret}`;
  const s = ctx.state.secrets.get(name);
  if (!s) throw notFound(`Secret [${name}] not found or has no versions.`);
  return s;
}

function versionOfCtx(ctx: Ctx): SecretVersion {
  const s = secretOf(ctx);
  const id = ctx.params.version as string;
  const v =
    id === 'latest'
      ? [...s.versions].reverse().find((x) => x.state === 'ENABLED')
      : s.versions.find((x) => x.name === `${s.name}/versions/${id}`);
  if (!v) throw notFound(`Secret Version [${s.name}/versions/${id}] not found.`);
  return v;
}

export default defineGcpService<SecretState>({
  name: 'secretmanager',
  host: 'secretmanager.googleapis.com',
  createState: () => ({ secrets: new Map() }),
  status: (s) => (s.secrets.size > 0 ? { secrets: [...s.secrets.keys()] } : undefined),
  routes: [
    {
      method: 'POST',
      path: '/v1/projects/{project}/secrets',
      operation: 'CreateSecret',
      handler: (ctx: Ctx) => {
        const id = ctx.query.get('secretId') ?? '';
        if (!ID_RE.test(id)) throw invalidArgument('secretId must match [a-zA-Z0-9_-]{1,255}', 'secret_id');
        const name = `projects/${ctx.params.project}/secrets/${id}`;
        if (ctx.state.secrets.has(name)) throw alreadyExists(`Secret [${name}] already exists.`);
        const body = ctx.body as { replication?: unknown; labels?: Record<string, string> };
        if (!body.replication || typeof body.replication !== 'object') {
          throw invalidArgument('Secret.replication is required.', 'secret.replication');
        }
        const now = ctx.clock.now();
        const s: Secret = {
          name,
          createTime: iso(now),
          labels: { ...(body.labels ?? {}) },
          replication: body.replication,
          etag: `"${now.toString(16)}"`,
          versions: [],
        };
        ctx.state.secrets.set(name, s);
        return secretView(s);
      },
    },
    {
      method: 'GET',
      path: '/v1/projects/{project}/secrets',
      operation: 'ListSecrets',
      handler: (ctx: Ctx) => ({
        secrets: [...ctx.state.secrets.values()].sort((a, b) => a.name.localeCompare(b.name)).map(secretView),
        totalSize: ctx.state.secrets.size,
      }),
    },
    {
      method: 'GET',
      path: '/v1/projects/{project}/secrets/{secret}',
      operation: 'GetSecret',
      handler: (ctx: Ctx) => secretView(secretOf(ctx)),
    },
    {
      method: 'DELETE',
      path: '/v1/projects/{project}/secrets/{secret}',
      operation: 'DeleteSecret',
      handler: (ctx: Ctx) => {
        const s = secretOf(ctx);
        ctx.state.secrets.delete(s.name);
        return {};
      },
    },
    {
      method: 'POST',
      path: '/v1/projects/{project}/secrets/{secret}:addVersion',
      operation: 'AddSecretVersion',
      handler: (ctx: Ctx) => {
        const s = secretOf(ctx);
        const payload = (ctx.body as { payload?: { data?: unknown; dataCrc32c?: unknown } }).payload;
        if (typeof payload?.data !== 'string')
          throw invalidArgument('payload.data is required', 'payload.data');
        const data = Buffer.from(payload.data, 'base64');
        if (data.length > MAX_PAYLOAD)
          throw invalidArgument('Secret payload data exceeds 65536 bytes.', 'payload.data');
        const given = int64Of(payload.dataCrc32c);
        if (given !== undefined && given !== crc32c(data)) {
          throw invalidArgument(
            'Checksum mismatch: the payload data does not match payload.data_crc32c.',
            'payload.data_crc32c',
          );
        }
        const v: SecretVersion = {
          name: `${s.name}/versions/${s.versions.length + 1}`,
          createTime: iso(ctx.clock.now()),
          state: 'ENABLED',
          data,
        };
        s.versions.push(v);
        return encodeEnums(ctx, versionView(v), { state: VERSION_STATE });
      },
    },
    {
      method: 'GET',
      path: '/v1/projects/{project}/secrets/{secret}/versions/{version}',
      operation: 'GetSecretVersion',
      handler: (ctx: Ctx) => encodeEnums(ctx, versionView(versionOfCtx(ctx)), { state: VERSION_STATE }),
    },
    {
      method: 'GET',
      path: '/v1/projects/{project}/secrets/{secret}/versions/{version}:access',
      operation: 'AccessSecretVersion',
      handler: (ctx: Ctx) => {
        const v = versionOfCtx(ctx);
        if (v.state !== 'ENABLED')
          throw failedPrecondition(`Secret Version [${v.name}] is in ${v.state} state.`);
        return {
          name: v.name,
          payload: { data: v.data.toString('base64'), dataCrc32c: crc32cValue(v.data) },
        };
      },
    },
  ],
});
