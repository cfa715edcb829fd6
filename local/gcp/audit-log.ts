/**
 * Admin Activity audit logs of the Google edge. Every answered call that changes a resource
 * (TransportManager Create/Update/DeleteTransport, compute patch/delete/insert, Cloud KMS key
 * creation, Secret Manager secret changes) becomes a Cloud Logging `LogEntry` in
 * `projects/<p>/logs/cloudaudit.googleapis.com%2Factivity` whose `protoPayload` is a
 * `google.cloud.audit.AuditLog`: `serviceName`, `methodName` (the full RPC name, e.g.
 * `google.cloud.networkconnectivity.v1beta.TransportManager.CreateTransport`, or `v1.compute.routers.patch`),
 * `resourceName`, `authenticationInfo.principalEmail`, `status` and the request. Reads (Get, List)
 * and data access (AsymmetricDecrypt, AccessSecretVersion) write nothing, as on Google where Data
 * Access logs are off by default.
 *
 * Simplifications: one entry per call (Google writes a second one, `operation.last`, when a
 * long-running operation ends); the request omits activation keys and secret payloads (crosslink
 * never lets them reach a log, docs/architecture.md "Activation keys"); timestamps are virtual time.
 */
import { randomBytes } from 'node:crypto';
import type { EdgeCall, GcpEdge } from './edge.ts';

export interface AuditLogEntry {
  insertId: string;
  logName: string;
  protoPayload: {
    '@type': 'type.googleapis.com/google.cloud.audit.AuditLog';
    status: { code?: number; message?: string };
    authenticationInfo: { principalEmail?: string };
    requestMetadata: { callerIp: string; callerSuppliedUserAgent?: string };
    serviceName: string;
    methodName: string;
    resourceName: string;
    request?: Record<string, unknown>;
    response?: Record<string, unknown>;
  };
  resource: { type: string; labels: Record<string, string> };
  timestamp: string;
  receiveTimestamp: string;
  severity: 'NOTICE' | 'ERROR';
  operation?: { id: string; producer: string; first: boolean };
}

const RPC_PREFIX: Record<string, string> = {
  networkconnectivity: 'google.cloud.networkconnectivity.v1beta.TransportManager.',
  cloudkms: 'google.cloud.kms.v1.KeyManagementService.',
  secretmanager: 'google.cloud.secretmanager.v1.SecretManagerService.',
};

const ADMIN_WRITES: Record<string, ReadonlySet<string>> = {
  networkconnectivity: new Set(['CreateTransport', 'UpdateTransport', 'DeleteTransport']),
  cloudkms: new Set(['CreateKeyRing', 'CreateCryptoKey', 'CreateCryptoKeyVersion']),
  secretmanager: new Set(['CreateSecret', 'DeleteSecret', 'AddSecretVersion', 'UpdateSecret']),
};

/** The audit `methodName` of an Admin Activity call, or undefined when the call writes no entry. */
export function adminMethodName(call: Pick<EdgeCall, 'service' | 'operation'>): string | undefined {
  if (call.service === 'compute') {
    return /\.(insert|patch|update|delete|set[A-Z]\w*)$/.test(call.operation)
      ? `v1.${call.operation}`
      : undefined;
  }
  if (!ADMIN_WRITES[call.service]?.has(call.operation)) return undefined;
  return `${RPC_PREFIX[call.service]}${call.operation}`;
}

/** `projects/p/locations/l/transports/t` from the REST path (and the `<x>Id` of a create). */
export function resourceNameOf(call: Pick<EdgeCall, 'path' | 'method' | 'query'>): string {
  let name = call.path.replace(/^\/(compute\/)?v\d\w*\//, '').replace(/:[A-Za-z]+$/, '');
  if (call.method === 'POST') {
    for (const [k, v] of call.query) {
      if (/^[a-z][A-Za-z]*Id$/.test(k) && k !== 'requestId' && v) {
        name = `${name}/${v}`;
        break;
      }
    }
  }
  return name;
}

const SECRET_FIELDS = /activationKey|^payload$|^data$|privateKey/i;

function scrub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!SECRET_FIELDS.test(k)) out[k] = scrub(v);
    return out;
  }
  return value;
}

/** The audit entry of one call, or undefined when it is not Admin Activity. */
export function auditEntryOf(call: EdgeCall, project: string): AuditLogEntry | undefined {
  const methodName = adminMethodName(call);
  if (!methodName) return undefined;
  const time = new Date(call.at).toISOString();
  const entryProject = call.params.project ?? call.params.projectsId ?? project;
  const ok = call.status < 400;
  const response = call.response as
    | { name?: string; error?: { code?: number; message?: string } }
    | undefined;
  const lro = ok && typeof response?.name === 'string' && /\/operations\//.test(response.name);
  const requestType = `type.googleapis.com/${methodName.replace(/\.[A-Za-z]+$/, '')}.${call.operation}Request`;
  return {
    insertId: randomBytes(6).toString('hex'),
    logName: `projects/${entryProject}/logs/cloudaudit.googleapis.com%2Factivity`,
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      status: ok
        ? {}
        : { code: response?.error?.code ?? call.status, message: response?.error?.message ?? '' },
      authenticationInfo: call.caller ? { principalEmail: call.caller.email } : {},
      requestMetadata: {
        callerIp: '127.0.0.1',
        ...(call.userAgent ? { callerSuppliedUserAgent: call.userAgent } : {}),
      },
      serviceName: call.host,
      methodName,
      resourceName: resourceNameOf(call),
      request: {
        '@type': requestType,
        ...(scrub(call.body) as Record<string, unknown>),
        ...Object.fromEntries([...call.query].filter(([k]) => !SECRET_FIELDS.test(k))),
      },
      ...(lro
        ? { response: { '@type': 'type.googleapis.com/google.longrunning.Operation', name: response?.name } }
        : {}),
    },
    resource: {
      type: 'audited_resource',
      labels: { project_id: entryProject, service: call.host, method: methodName },
    },
    timestamp: time,
    receiveTimestamp: time,
    severity: ok ? 'NOTICE' : 'ERROR',
    ...(lro ? { operation: { id: response?.name as string, producer: call.host, first: true } } : {}),
  };
}

/** The Admin Activity log of the edge: entries in order, and listeners (the log sinks). */
export class AuditLog {
  readonly #entries: AuditLogEntry[] = [];
  #listeners: ((e: AuditLogEntry) => void)[] = [];
  readonly #max: number;

  constructor(edge: GcpEdge, project: string, max = 5_000) {
    this.#max = max;
    edge.onCall((call) => {
      const entry = auditEntryOf(call, project);
      if (!entry) return;
      this.#entries.push(entry);
      if (this.#entries.length > this.#max) this.#entries.splice(0, this.#entries.length - this.#max);
      for (const l of this.#listeners) l(entry);
    });
  }

  /** Entries so far, oldest first (the last 5,000). */
  entries(): AuditLogEntry[] {
    return structuredClone(this.#entries);
  }

  /** Calls `listener` with every new entry; returns an unsubscribe. */
  subscribe(listener: (e: AuditLogEntry) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }
}
