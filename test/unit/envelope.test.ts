import { describe, expect, it } from 'vitest';
import { fromEventBridgeEvent, toEventBridgeEntry } from '#aws/envelope.ts';
import { ManualClock } from '#core/clock.ts';
import { buildEvent, type CloudEvent, parseEvent, parseEventType } from '#core/envelope.ts';
import { ValidationError } from '#core/errors.ts';
import { fromPubSubMessage, fromPubSubPush, toPubSubMessage } from '#gcp/envelope.ts';

const clock = new ManualClock('2026-11-26T10:00:00Z');
const aws = { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' } as const;

function sample(): CloudEvent<{ linkId: string; policyHash: string }> {
  return buildEvent({
    name: 'LinkRequested',
    origin: aws,
    subject: 'lk-01jdx0000000000000000000aa',
    data: { linkId: 'lk-01jdx0000000000000000000aa', policyHash: 'a'.repeat(64) },
    clock,
  });
}

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.issues.map((i) => `${i.path}: ${i.reason}`);
    throw e;
  }
  return [];
}

describe('CloudEvent envelope', () => {
  it('builds a structured CloudEvent 1.0 with the attributes of the envelope contract', () => {
    const e = sample();
    expect(e).toMatchObject({
      specversion: '1.0',
      type: 'crosslink.LinkRequested.v1',
      source: 'crosslink://aws/000000000000/us-east-1',
      subject: 'lk-01jdx0000000000000000000aa',
      time: '2026-11-26T10:00:00.000Z',
      crosslinkorigin: 'aws',
      datacontenttype: 'application/json',
    });
    expect(e.id).toMatch(/^[0-7][0-9A-Z]{25}$/);
    expect(e.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(parseEventType(e.type)).toEqual({ name: 'LinkRequested', major: 1 });
  });

  it('keeps a given traceparent and Google sources', () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const e = buildEvent({
      name: 'LinkApproved',
      origin: { cloud: 'gcp', project: 'crosslink-hub', region: 'us-east4' },
      subject: 'lk-x',
      data: {},
      clock,
      traceparent: tp,
    });
    expect(e.traceparent).toBe(tp);
    expect(e.source).toBe('crosslink://gcp/crosslink-hub/us-east4');
  });

  it('names every malformed attribute', () => {
    const bad = {
      ...sample(),
      specversion: '0.3',
      id: 'nope',
      type: 'LinkRequested',
      crosslinkorigin: 'azure',
      data: 'x',
      traceparent: '00-00',
    };
    delete (bad as Record<string, unknown>).time;
    expect(issuesOf(() => parseEvent(bad))).toEqual([
      'specversion: must be "1.0", got "0.3"',
      'id: must be an uppercase ULID, got "nope"',
      'type: must be crosslink.<Name>.v<major>, got "LinkRequested"',
      'time: is required',
      'traceparent: must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>), got "00-00"',
      'crosslinkorigin: must be "aws" or "gcp"',
      'data: must be a JSON object',
    ]);
    expect(issuesOf(() => parseEvent([]))).toEqual([
      ': an event must be a JSON object (a structured CloudEvent)',
    ]);
  });

  it('refuses an origin that contradicts the source', () => {
    expect(issuesOf(() => parseEvent({ ...sample(), crosslinkorigin: 'gcp' }))).toEqual([
      'crosslinkorigin: says gcp but source is crosslink://aws/000000000000/us-east-1',
    ]);
  });

  it('keeps unknown extension attributes (v1 consumers ignore them)', () => {
    expect(parseEvent({ ...sample(), futureattr: 'x' }).futureattr).toBe('x');
  });
});

describe('EventBridge mapping', () => {
  it('puts the whole CloudEvent in Detail, and reads it back as delivered', () => {
    const e = sample();
    const entry = toEventBridgeEntry(e, 'crosslink');
    expect(entry).toMatchObject({
      Source: 'crosslink',
      DetailType: 'LinkRequested',
      EventBusName: 'crosslink',
    });
    const delivered = {
      version: '0',
      id: 'x',
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: '000000000000',
      time: e.time,
      region: 'us-east-1',
      resources: [],
      detail: JSON.parse(entry.Detail),
    };
    expect(fromEventBridgeEvent(delivered)).toEqual(e);
  });

  it('refuses a detail-type that disagrees with the CloudEvent type, and foreign sources', () => {
    const e = sample();
    expect(
      issuesOf(() =>
        fromEventBridgeEvent({ id: 'x', 'detail-type': 'LinkApproved', source: 'crosslink', detail: e }),
      )[0],
    ).toMatch(/detail-type/);
    expect(
      issuesOf(() =>
        fromEventBridgeEvent({ id: 'x', 'detail-type': 'LinkRequested', source: 'aws.ec2', detail: e }),
      )[0],
    ).toMatch(/source: must be "crosslink"/);
  });

  it('refuses an event too large for an entry', () => {
    const big = { ...sample(), data: { blob: 'x'.repeat(300 * 1024) } };
    expect(() => toEventBridgeEntry(big, 'crosslink')).toThrow(/too large/);
  });
});

describe('Pub/Sub mapping', () => {
  it('carries the CloudEvent as data with ce-id, ce-type, crosslinkorigin and traceparent attributes, and back', () => {
    const e = sample();
    const m = toPubSubMessage(e);
    expect(m.attributes).toEqual({
      'ce-id': e.id,
      'ce-type': e.type,
      crosslinkorigin: 'aws',
      traceparent: e.traceparent,
    });
    expect(fromPubSubMessage({ data: m.data, attributes: m.attributes })).toEqual(e);
    const push = {
      message: { data: m.data.toString('base64'), attributes: m.attributes, messageId: '1' },
      subscription: 'projects/p/subscriptions/s',
    };
    expect(fromPubSubPush(push)).toEqual(e);
  });

  it('refuses empty, non-JSON and attribute-mismatched messages', () => {
    const e = sample();
    const m = toPubSubMessage(e);
    expect(issuesOf(() => fromPubSubMessage({ data: '' }))[0]).toMatch(/message.data: is empty/);
    expect(issuesOf(() => fromPubSubMessage({ data: Buffer.from('{oops').toString('base64') }))[0]).toMatch(
      /not JSON/,
    );
    expect(
      issuesOf(() =>
        fromPubSubMessage({ data: m.data, attributes: { ...m.attributes, 'ce-id': 'OTHER' } }),
      )[0],
    ).toMatch(/ce-id/);
    expect(issuesOf(() => fromPubSubPush({ subscription: 's' }))[0]).toMatch(/message: is required/);
  });
});
