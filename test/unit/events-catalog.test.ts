/**
 * The event catalog as a contract: the schemas in events/ agree with the TypeScript catalog and the
 * link model, the samples in events/samples/ are valid on every path an event travels (CloudEvent,
 * EventBridge delivery, Pub/Sub push), and they are exactly what the generator makes today.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type EventBridgeEvent, fromEventBridgeEvent } from '#aws/envelope.ts';
import { type CloudEvent, parseEvent } from '#core/envelope.ts';
import { ValidationError } from '#core/errors.ts';
import { EVENT_FIELDS, EVENT_NAMES, type EventName } from '#core/events/catalog.ts';
import { EVENT_DATA_SCHEMAS } from '#core/events/documents.ts';
import { envelopeIssues, eventDataIssues, parseEventData } from '#core/events/schemas.ts';
import {
  AWS_CONNECTION_STATES,
  GCP_TRANSPORT_STATES,
  type HalfCondition,
  LINK_STATES,
} from '#core/link/model.ts';
import { fromPubSubPush } from '#gcp/envelope.ts';
import { eventSamples, SAMPLES_DIR } from '#scripts/gen-event-samples.ts';
import defs from '../../events/defs.v1.schema.json' with { type: 'json' };

const readSample = (file: string): unknown => JSON.parse(readFileSync(join(SAMPLES_DIR, file), 'utf8'));
const cloudEventOf = (name: EventName) => readSample(`${name}.cloudevent.json`) as CloudEvent;
const clone = <T>(v: T): T => structuredClone(v);

function thrownIssues(fn: () => unknown): { path: string; reason: string }[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return [...e.issues];
    throw e;
  }
  return [];
}

describe('event schemas match the catalog', () => {
  it.each(EVENT_NAMES)('%s: required and properties are exactly EVENT_FIELDS', (name) => {
    const schema = EVENT_DATA_SCHEMAS[name];
    const fields = EVENT_FIELDS[name];

    expect([...schema.required].sort()).toEqual([...fields.required].sort());
    expect(Object.keys(schema.properties).sort()).toEqual([...fields.required, ...fields.optional].sort());
    // A link's events name the link; a VPN command or result its run and VPN; the inventory
    // exchange its run and side; a run's report (VpnRun*) its run; a DR observation its service,
    // vantage point, signal and time; the executor's events (decision, action, move) the service
    // and the epoch.
    const keys = /^Dr(Decision|Action|Failed)/.test(name)
      ? ['service', 'epoch']
      : name === 'DrSignalObserved'
        ? ['time', 'service', 'vantage', 'signal']
        : name.startsWith('VpnInventory')
          ? ['runId', 'side']
          : name.startsWith('VpnRun')
            ? ['runId']
            : name.startsWith('Vpn')
              ? ['runId', 'vpnId']
              : ['linkId', 'policyHash'];
    expect(schema.required).toEqual(expect.arrayContaining(keys));
  });

  it.each(EVENT_NAMES)('%s: names its producer and consumers, is v1 and open to new fields', (name) => {
    const schema = EVENT_DATA_SCHEMAS[name] as unknown as Record<string, unknown>;

    expect(schema.$id).toBe(`https://crosslink.dev/schemas/events/${name}.v1.schema.json`);
    expect(schema['x-producer']).toMatch(/\S{3}/);
    expect(schema['x-consumers']).toEqual(expect.arrayContaining([expect.stringMatching(/\S{3}/)]));
    expect(schema.additionalProperties).toBe(true);
    expect(schema.description).toMatch(/ignores fields it does not know/);
  });

  it('shared enums are the link model’s states', () => {
    const allConditions: Record<HalfCondition, true> = {
      NONE: true,
      PENDING: true,
      UP: true,
      DOWN: true,
      DELETING: true,
      GONE: true,
      FAILED: true,
    };
    const d = defs.$defs;

    expect(d.awsNativeState.enum).toEqual([...AWS_CONNECTION_STATES, null]);
    expect(d.gcpNativeState.enum).toEqual([...GCP_TRANSPORT_STATES, null]);
    expect(d.nativeState.enum).toEqual([...AWS_CONNECTION_STATES, ...GCP_TRANSPORT_STATES, null]);
    expect(d.linkState.enum).toEqual([...LINK_STATES]);
    expect([...d.halfCondition.enum].sort()).toEqual(Object.keys(allConditions).sort());
  });

  it('docs/events.md has a catalog row for every event', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../docs/events.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `(\w+)` *\|/gm)].map((m) => m[1]);

    expect(rows.filter((r) => /^(Link|Vpn|Dr)[A-Z]/.test(r ?? ''))).toEqual([...EVENT_NAMES]);
  });

  it('no schema has a field for an activation key in clear', () => {
    const names: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if (k === 'properties' && v && typeof v === 'object') names.push(...Object.keys(v));
          walk(v);
        }
      }
    };
    walk([defs, ...Object.values(EVENT_DATA_SCHEMAS)]);

    expect(names.length).toBeGreaterThan(50);
    expect(names.filter((n) => /activation|^key$|plaintext/i.test(n))).toEqual([]);
  });
});

describe('samples', () => {
  it('are exactly what scripts/gen-event-samples.ts generates (run `npm run gen:samples` after a change)', () => {
    const generated = eventSamples();
    const committed = readdirSync(SAMPLES_DIR).sort();

    expect(committed).toEqual([...generated.keys()].sort());
    for (const [file, value] of generated) expect(readSample(file), file).toEqual(value);
  });

  describe.each(EVENT_NAMES)('%s', (name) => {
    it('CloudEvent: the envelope and the data are valid', () => {
      const event = cloudEventOf(name);

      expect(envelopeIssues(event)).toEqual([]);
      expect(parseEvent(event)).toEqual(event);
      expect(event.type).toBe(`crosslink.${name}.v1`);
      expect(eventDataIssues(name, event.data)).toEqual([]);
      const data = event.data as {
        linkId?: string;
        vpnId?: string;
        runId?: string;
        service?: string;
        vantage?: string;
        signal?: string;
      };
      const subject =
        name === 'DrSignalObserved'
          ? `${data.service}/${data.vantage}/${data.signal}`
          : name.startsWith('Dr')
            ? data.service
            : name.startsWith('VpnInventory') || name.startsWith('VpnRun')
              ? data.runId
              : name.startsWith('Vpn')
                ? data.vpnId
                : data.linkId;
      expect(event.subject).toBe(subject);
      expect(event.source.startsWith(`crosslink://${event.crosslinkorigin}/`)).toBe(true);
    });

    it('EventBridge delivery: detail-type is the name and it unwraps to the same CloudEvent', () => {
      const delivered = readSample(`${name}.eventbridge.json`) as EventBridgeEvent;

      expect(delivered).toMatchObject({ source: 'crosslink', 'detail-type': name, version: '0' });
      expect(fromEventBridgeEvent(delivered)).toEqual(cloudEventOf(name));
    });

    it('Pub/Sub push: the attributes match and it unwraps to the same CloudEvent', () => {
      const push = readSample(`${name}.pubsub-push.json`) as {
        message: { attributes: Record<string, string> };
        subscription: string;
      };
      const event = cloudEventOf(name);

      expect(push.message.attributes).toEqual({
        'ce-id': event.id,
        'ce-type': event.type,
        crosslinkorigin: event.crosslinkorigin,
        traceparent: event.traceparent,
      });
      expect(push.subscription).toMatch(/^projects\/[^/]+\/subscriptions\/[^/]+$/);
      expect(fromPubSubPush(push)).toEqual(event);
    });

    it.each(EVENT_FIELDS[name].required)('without %s the data is refused, naming the field', (field) => {
      const data = clone(cloudEventOf(name).data) as Record<string, unknown>;
      delete data[field];

      expect(eventDataIssues(name, data)).toContainEqual({ path: field, reason: 'is required' });
    });

    it('a field the schema does not know is ignored (v1 compatibility)', () => {
      const data = { ...(cloudEventOf(name).data as object), addedInV1_1: { any: 'thing' } };

      expect(eventDataIssues(name, data)).toEqual([]);
    });
  });
});

describe('a broken copy of a sample is refused with the path named', () => {
  const cases: {
    name: EventName;
    what: string;
    change: (d: Record<string, unknown>) => void;
    path: string;
  }[] = [
    {
      name: 'LinkApproved',
      what: 'side outside the clouds',
      change: (d) => (d.side = 'azure'),
      path: 'side',
    },
    { name: 'LinkFailed', what: 'unknown stage', change: (d) => (d.stage = 'launch'), path: 'stage' },
    { name: 'LinkStateChanged', what: 'unknown link state', change: (d) => (d.to = 'UP'), path: 'to' },
    {
      name: 'LinkSideStateChanged',
      what: 'an AWS state on the Google half',
      change: (d) => (d.nativeState = 'available'),
      path: 'nativeState',
    },
    {
      name: 'LinkStateChanged',
      what: 'a Google state on the AWS half',
      change: (d) => ((d.halves as { aws: { nativeState: string } }).aws.nativeState = 'ACTIVE'),
      path: 'halves.aws.nativeState',
    },
    {
      name: 'LinkSideStateChanged',
      what: 'sequence 0 (the first observation is 1)',
      change: (d) => (d.sequence = 0),
      path: 'sequence',
    },
    {
      name: 'LinkExpired',
      what: 'no side waited for',
      change: (d) => (d.waitingFor = []),
      path: 'waitingFor',
    },
    {
      name: 'LinkRequested',
      what: 'an uppercase link id',
      change: (d) => (d.linkId = String(d.linkId).toUpperCase()),
      path: 'linkId',
    },
    {
      name: 'LinkApproved',
      what: 'a short policy hash',
      change: (d) => (d.policyHash = 'abc123'),
      path: 'policyHash',
    },
    {
      name: 'LinkRejected',
      what: 'a date that is not RFC 3339',
      change: (d) => (d.rejectedAt = '02/03/2026'),
      path: 'rejectedAt',
    },
    {
      name: 'LinkRequested',
      what: 'a request with a bad AWS account',
      change: (d) => ((d.request as { aws: { accountId: string } }).aws.accountId = '12345'),
      path: 'request.aws.accountId',
    },
    {
      name: 'LinkKeyIssued',
      what: 'a GCM nonce of the wrong size',
      change: (d) => ((d.sealedKey as { iv: string }).iv = Buffer.alloc(16).toString('base64')),
      path: 'sealedKey.iv',
    },
    {
      name: 'LinkKeyIssued',
      what: 'a sealed key without its tag',
      change: (d) => delete (d.sealedKey as { tag?: string }).tag,
      path: 'sealedKey.tag',
    },
    {
      name: 'LinkApprovalRequested',
      what: 'an unknown environment',
      change: (d) => (d.environment = 'staging'),
      path: 'environment',
    },
    {
      name: 'LinkDecommissionRequested',
      what: 'a requester that is no principal',
      change: (d) => (d.requestedBy = 'alice'),
      path: 'requestedBy',
    },
  ];

  it.each(cases)('$name: $what -> $path', ({ name, change, path }) => {
    const data = clone(cloudEventOf(name).data) as Record<string, unknown>;
    change(data);

    const issues = eventDataIssues(name, data);
    expect(issues.map((i) => i.path)).toContain(path);
    expect(thrownIssues(() => parseEventData(name, data))).toEqual(issues);
  });
});

describe('the envelope schema and parseEvent agree', () => {
  const base = cloudEventOf('LinkRequested');
  const cases: {
    what: string;
    change: (e: Record<string, unknown>) => void;
    schemaPath: string;
    parserPath?: string;
  }[] = [
    { what: 'specversion 0.3', change: (e) => (e.specversion = '0.3'), schemaPath: 'specversion' },
    { what: 'no id', change: (e) => delete e.id, schemaPath: 'id' },
    { what: 'a lowercase id', change: (e) => (e.id = String(e.id).toLowerCase()), schemaPath: 'id' },
    {
      what: 'a type without version',
      change: (e) => (e.type = 'crosslink.LinkRequested'),
      schemaPath: 'type',
    },
    { what: 'a foreign source', change: (e) => (e.source = 'https://example.com'), schemaPath: 'source' },
    { what: 'a subject with a space', change: (e) => (e.subject = 'lk a'), schemaPath: 'subject' },
    { what: 'a time without zone', change: (e) => (e.time = '2026-03-02T09:15:00'), schemaPath: 'time' },
    {
      what: 'an all-zero trace id',
      change: (e) => (e.traceparent = `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`),
      schemaPath: 'traceparent',
    },
    {
      what: 'a text content type',
      change: (e) => (e.datacontenttype = 'text/plain'),
      schemaPath: 'datacontenttype',
    },
    { what: 'origin azure', change: (e) => (e.crosslinkorigin = 'azure'), schemaPath: 'crosslinkorigin' },
    {
      what: 'origin and source disagree',
      change: (e) => (e.crosslinkorigin = 'gcp'),
      schemaPath: 'source',
      parserPath: 'crosslinkorigin',
    },
    { what: 'data an array', change: (e) => (e.data = []), schemaPath: 'data' },
    { what: 'no data', change: (e) => delete e.data, schemaPath: 'data' },
  ];

  it.each(cases)('both refuse $what', ({ change, schemaPath, parserPath }) => {
    const event = clone(base) as Record<string, unknown>;
    change(event);

    expect(envelopeIssues(event).map((i) => i.path)).toContain(schemaPath);
    expect(thrownIssues(() => parseEvent(event)).map((i) => i.path)).toContain(parserPath ?? schemaPath);
  });

  it('both accept unknown extension attributes and a missing datacontenttype', () => {
    const event = clone(base) as Record<string, unknown>;
    event.crosslinkhop = '2';
    delete event.datacontenttype;

    expect(envelopeIssues(event)).toEqual([]);
    expect(() => parseEvent(event)).not.toThrow();
  });
});
