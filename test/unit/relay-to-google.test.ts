/**
 * The AWS -> Google relay's core: origin filter, the Pub/Sub mapping (incl. traceparent), poison
 * records dead-lettered with their reason, partial batch failures, and the last receive
 * dead-lettered instead of failed. No log line carries an event body.
 */
import { describe, expect, it } from 'vitest';
import {
  type LogFields,
  type RelayDeps,
  type RelayMessage,
  relayToGoogle,
  type SqsRecord,
} from '#aws/relay-to-google.ts';
import { ManualClock } from '#core/clock.ts';
import { buildEvent, type CloudEvent, type Origin } from '#core/envelope.ts';
import { fromPubSubMessage } from '#gcp/envelope.ts';

const clock = new ManualClock('2026-11-26T10:00:00Z');
const AWS: Origin = { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' };
const GCP: Origin = { cloud: 'gcp', project: 'payments-prod', region: 'us-east4' };
const SEALED = 'SEALED-KEY-CIPHERTEXT-never-logged';

function event(origin: Origin, n = 1): CloudEvent {
  return buildEvent({
    name: 'LinkKeyIssued',
    origin,
    subject: `lk-01jgc00000000000000000000${n}`,
    data: { linkId: `lk-01jgc00000000000000000000${n}`, sealedKey: SEALED },
    clock,
  });
}

function record(id: string, body: unknown, receives = 1): SqsRecord {
  return {
    messageId: id,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: String(receives) },
  };
}

function bridged(e: CloudEvent) {
  return {
    version: '0',
    id: 'eb-1',
    source: 'crosslink',
    'detail-type': e.type.split('.')[1],
    account: '000000000000',
    region: 'us-east-1',
    time: e.time,
    resources: [],
    detail: e,
  };
}

function harness(failFor: (m: RelayMessage) => Error | undefined = () => undefined) {
  const published: RelayMessage[] = [];
  const dead: { messageId: string; body: string; reason: string }[] = [];
  const lines: { level: string; message: string; fields?: LogFields }[] = [];
  const deps: RelayDeps = {
    publisher: {
      async publish(m) {
        const err = failFor(m);
        if (err) throw err;
        published.push(m);
        return String(published.length);
      },
    },
    deadLetters: {
      async send(r, reason) {
        dead.push({ messageId: r.messageId, body: r.body, reason });
      },
    },
    log: {
      info: (message, fields) => lines.push({ level: 'info', message, fields }),
      warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
      error: (message, fields) => lines.push({ level: 'error', message, fields }),
    },
    maxReceives: 5,
  };
  return { deps, published, dead, lines };
}

describe('the relayed message', () => {
  it('is data = the event, attributes ce-id, ce-type, crosslinkorigin and traceparent', async () => {
    const { deps, published } = harness();
    const e = event(AWS);
    await relayToGoogle([record('r1', bridged(e))], deps);
    const m = published[0] as RelayMessage;
    expect(JSON.parse(m.data.toString('utf8'))).toEqual(e);
    expect(m.attributes).toEqual({
      'ce-id': e.id,
      'ce-type': 'crosslink.LinkKeyIssued.v1',
      crosslinkorigin: 'aws',
      traceparent: e.traceparent,
    });
    // What the Google consumer reads back is the same event.
    expect(fromPubSubMessage({ data: m.data, attributes: m.attributes })).toEqual(e);
  });
});

describe('relayToGoogle', () => {
  it('publishes events of origin aws and acknowledges them', async () => {
    const h = harness();
    const a = event(AWS, 1);
    const b = event(AWS, 2);
    const report = await relayToGoogle([record('m1', bridged(a)), record('m2', bridged(b))], h.deps);
    expect(report).toEqual({ batchItemFailures: [], relayed: 2, notOurs: 0, deadLettered: 0 });
    expect(h.published.map((m) => m.attributes['ce-id']).sort()).toEqual([a.id, b.id].sort());
  });

  it('never relays an event back to its origin: acknowledged and counted, not published', async () => {
    const h = harness();
    const report = await relayToGoogle([record('m1', bridged(event(GCP)))], h.deps);
    expect(report).toEqual({ batchItemFailures: [], relayed: 0, notOurs: 1, deadLettered: 0 });
    expect(h.published).toEqual([]);
    expect(h.dead).toEqual([]);
  });

  it('dead-letters poison records at once with the reason, and acknowledges them', async () => {
    const h = harness();
    const badEvent = { ...event(AWS), id: 'not-a-ulid' };
    const report = await relayToGoogle(
      [
        record('p1', 'not json {'),
        record('p2', { hello: 'world' }),
        record('p3', { ...bridged(event(AWS)), source: 'someone.else' }),
        record('p4', bridged(badEvent)),
      ],
      h.deps,
    );
    expect(report).toEqual({ batchItemFailures: [], relayed: 0, notOurs: 0, deadLettered: 4 });
    const reasons = Object.fromEntries(h.dead.map((d) => [d.messageId, d.reason]));
    expect(reasons.p1).toMatch(/^poison: SQS record is invalid: body: is not JSON/);
    expect(reasons.p2).toMatch(/body: is not an EventBridge event/);
    expect(reasons.p3).toMatch(/source: must be "crosslink"/);
    expect(reasons.p4).toMatch(/id: must be an uppercase ULID/);
    expect(h.published).toEqual([]);
  });

  it('reports only the records whose publish failed as batch item failures', async () => {
    const failing = event(AWS, 2);
    const h = harness((m) =>
      m.attributes['ce-id'] === failing.id ? new Error('Pub/Sub 503 UNAVAILABLE') : undefined,
    );
    const report = await relayToGoogle(
      [
        record('m1', bridged(event(AWS, 1))),
        record('m2', bridged(failing), 2),
        record('m3', bridged(event(AWS, 3))),
      ],
      h.deps,
    );
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: 'm2' }]);
    expect(report.relayed).toBe(2);
    expect(h.dead).toEqual([]);
    expect(h.lines.find((l) => l.fields?.messageId === 'm2')?.fields?.reason).toMatch(/503 UNAVAILABLE/);
  });

  it('dead-letters a record on its last receive with the last error as the reason', async () => {
    const h = harness(() => new Error('token exchange refused: invalid_grant'));
    const report = await relayToGoogle(
      [record('m1', bridged(event(AWS, 1)), 4), record('m2', bridged(event(AWS, 2)), 5)],
      h.deps,
    );
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(h.dead).toEqual([
      {
        messageId: 'm2',
        body: expect.any(String),
        reason: 'publish failed 5 times: Error: token exchange refused: invalid_grant',
      },
    ]);
  });

  it('fails a record whose dead-lettering fails (SQS delivers it again)', async () => {
    const h = harness();
    h.deps.deadLetters.send = async () => {
      throw new Error('SQS unavailable');
    };
    const report = await relayToGoogle([record('p1', 'nope')], h.deps);
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: 'p1' }]);
    expect(report.deadLettered).toBe(0);
  });

  it('logs ids and types only, never an event body or its sealed key', async () => {
    const h = harness((m) => (m.attributes['ce-id'].endsWith('X') ? new Error('x') : undefined));
    await relayToGoogle(
      [record('m1', bridged(event(AWS))), record('m2', bridged(event(GCP))), record('m3', 'junk')],
      h.deps,
    );
    const text = JSON.stringify(h.lines);
    expect(h.lines.length).toBeGreaterThanOrEqual(3);
    expect(text).not.toContain(SEALED);
    expect(text).not.toContain('"data"');
  });
});
