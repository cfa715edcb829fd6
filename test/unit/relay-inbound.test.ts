import { describe, expect, it } from 'vitest';
import type { EventBridgeEntry } from '#aws/envelope.ts';
import { type RelayInDeps, type RelayLedger, type RelayMetric, relayIn } from '#aws/relay-inbound.ts';
import { ManualClock } from '#core/clock.ts';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import { toPubSubMessage } from '#gcp/envelope.ts';

const RELAY = 'crosslink-relay@proj-1234.iam.gserviceaccount.com';
// As the HTTP API's JWT authorizer passes them: every value a string.
const claims = {
  iss: 'https://accounts.google.com',
  email: RELAY,
  email_verified: 'true',
  exp: '1798000000',
};

/** A ledger with expiring records, as the DynamoDB one keeps them (reads filter on the expiry). */
class MemoryLedger implements RelayLedger {
  readonly records = new Map<string, { status: 'pending' | 'relayed'; token: string; until: number }>();
  #n = 0;
  readonly clock: ManualClock;
  constructor(clock: ManualClock) {
    this.clock = clock;
  }
  async claim(id: string, pendingUntil: number) {
    const r = this.records.get(id);
    if (r && r.until > this.clock.now()) return r.status === 'relayed' ? 'relayed' : 'in-flight';
    const token = `t${++this.#n}`;
    this.records.set(id, { status: 'pending', token, until: pendingUntil });
    return { claimed: token };
  }
  async complete(id: string, token: string, expiresAt: number) {
    this.records.set(id, { status: 'relayed', token, until: expiresAt });
  }
  async release(id: string, token: string) {
    if (this.records.get(id)?.token === token) this.records.delete(id);
  }
}

function setup(results: Array<Array<{ errorCode?: string }> | Error> = []) {
  const clock = new ManualClock(Date.parse('2026-11-26T12:00:00Z'));
  const ledger = new MemoryLedger(clock);
  const puts: EventBridgeEntry[][] = [];
  const counted: RelayMetric[] = [];
  const lines: string[] = [];
  const sleeps: number[] = [];
  const deps: RelayInDeps = {
    relayServiceAccount: RELAY,
    busName: 'crosslink-dev',
    ledger,
    clock,
    bus: {
      async put(entries) {
        puts.push(entries);
        const r = results.shift();
        if (r instanceof Error) throw r;
        return r ?? entries.map(() => ({}));
      },
    },
    count: (m) => counted.push(m),
    log: {
      info: (m, f) => lines.push(JSON.stringify({ m, ...f })),
      warn: (m, f) => lines.push(JSON.stringify({ m, ...f })),
    },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
  return { deps, clock, ledger, puts, counted, lines, sleeps };
}

function gcpEvent(
  clock: ManualClock,
  data: Record<string, unknown> = { policyHash: 'h' },
  traceparent?: string,
): CloudEvent {
  return buildEvent({
    name: 'LinkApproved',
    origin: { cloud: 'gcp', project: 'proj-1234', region: 'us-east4' },
    subject: 'lk-01jd0000000000000000000000',
    data,
    clock,
    ...(traceparent ? { traceparent } : {}),
  });
}

function pushOf(event: unknown, attributes: Record<string, string> = {}): string {
  return JSON.stringify({
    message: {
      data: Buffer.from(JSON.stringify(event)).toString('base64'),
      attributes,
      messageId: '42',
      publishTime: '2026-11-26T12:00:00Z',
    },
    subscription: 'projects/proj-1234/subscriptions/crosslink-events-relay',
  });
}

describe('relayIn (Google -> AWS)', () => {
  it('puts the CloudEvent on the bus as Source crosslink, DetailType <Name>, Detail the event', async () => {
    const { deps, clock, puts, counted } = setup();
    const event = gcpEvent(clock);
    const answer = await relayIn(deps, { claims, body: pushOf(event, { 'ce-id': event.id }) });
    expect(answer).toEqual({ status: 200, body: { outcome: 'relayed', id: event.id } });
    expect(puts).toHaveLength(1);
    expect(puts[0]?.[0]).toMatchObject({
      Source: 'crosslink',
      DetailType: 'LinkApproved',
      EventBusName: 'crosslink-dev',
    });
    expect(JSON.parse(puts[0]?.[0]?.Detail as string)).toEqual(event);
    expect(counted).toEqual(['Relayed']);
  });

  it('continues the trace: a message as the Google half publishes it reaches the bus with its traceparent', async () => {
    const { deps, clock, puts } = setup();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const event = gcpEvent(clock, { policyHash: 'h' }, traceparent);
    const published = toPubSubMessage(event);
    expect(published.attributes.traceparent).toBe(traceparent);
    const body = JSON.stringify({
      message: { data: published.data.toString('base64'), attributes: published.attributes, messageId: '7' },
      subscription: 'projects/proj-1234/subscriptions/crosslink-events-relay',
    });
    expect((await relayIn(deps, { claims, body })).status).toBe(200);
    expect(JSON.parse(puts[0]?.[0]?.Detail as string).traceparent).toBe(traceparent);
  });

  it('refuses (403, counted) a token of another service account, or no claims at all', async () => {
    const { deps, clock, puts, counted } = setup();
    const body = pushOf(gcpEvent(clock));
    const other = { ...claims, email: 'crosslink-pusher@proj-1234.iam.gserviceaccount.com' };
    expect((await relayIn(deps, { claims: other, body })).status).toBe(403);
    expect((await relayIn(deps, { claims: undefined, body })).status).toBe(403);
    expect((await relayIn(deps, { claims: { ...claims, email_verified: false }, body })).status).toBe(403);
    expect((await relayIn(deps, { claims: { ...claims, email_verified: 'false' }, body })).status).toBe(403);
    expect(puts).toHaveLength(0);
    expect(counted).toEqual([
      'RelayRefusedAccount',
      'RelayRefusedAccount',
      'RelayRefusedAccount',
      'RelayRefusedAccount',
    ]);
  });

  it('refuses (403, counted) a token without an expiry, whatever the authorizer made of it', async () => {
    const { deps, clock, puts, counted } = setup();
    const { exp: _, ...noExpiry } = claims;
    const answer = await relayIn(deps, { claims: noExpiry, body: pushOf(gcpEvent(clock)) });
    expect(answer).toEqual({
      status: 403,
      body: { outcome: 'refused', reason: 'the token carries no expiry (exp)' },
    });
    expect(
      await relayIn(deps, { claims: { ...claims, exp: 'never' }, body: pushOf(gcpEvent(clock)) }),
    ).toMatchObject({
      status: 403,
    });
    expect(puts).toHaveLength(0);
    expect(counted).toEqual(['RelayRefusedAccount', 'RelayRefusedAccount']);
  });

  it('acknowledges and drops an event whose origin is AWS: never back to its origin', async () => {
    const { deps, clock, puts, counted } = setup();
    const event = buildEvent({
      name: 'LinkApproved',
      origin: { cloud: 'aws', accountId: '123456789012', region: 'us-east-1' },
      subject: 'lk-01jd0000000000000000000000',
      data: { policyHash: 'h' },
      clock,
    });
    const answer = await relayIn(deps, { claims, body: pushOf(event) });
    expect(answer).toEqual({ status: 200, body: { outcome: 'wrong-origin', id: event.id } });
    expect(puts).toHaveLength(0);
    expect(counted).toEqual(['RelayWrongOrigin']);
  });

  it('acknowledges a duplicate (2xx) without a second put', async () => {
    const { deps, clock, puts, counted } = setup();
    const body = pushOf(gcpEvent(clock));
    expect((await relayIn(deps, { claims, body })).body.outcome).toBe('relayed');
    clock.advance(3_600_000);
    const again = await relayIn(deps, { claims, body });
    expect(again.status).toBe(200);
    expect(again.body.outcome).toBe('duplicate');
    expect(puts).toHaveLength(1);
    expect(counted).toEqual(['Relayed', 'RelayDuplicates']);
  });

  it('retries only the failed entries with growing backoff, then relays', async () => {
    const { deps, clock, puts, sleeps } = setup([[{ errorCode: 'ThrottlingException' }], new Error('boom')]);
    const event = gcpEvent(clock);
    const answer = await relayIn(deps, { claims, body: pushOf(event) });
    expect(answer.body.outcome).toBe('relayed');
    expect(puts.map((p) => p.map((e) => JSON.parse(e.Detail).id))).toEqual([
      [event.id],
      [event.id],
      [event.id],
    ]);
    expect(sleeps).toEqual([200, 400]);
  });

  it('answers 503 after bounded retries and does not make the redelivery a duplicate', async () => {
    const fail = [{ errorCode: 'InternalFailure' }];
    const { deps, clock, puts, counted } = setup([fail, fail, fail, fail]);
    const body = pushOf(gcpEvent(clock));
    const answer = await relayIn(deps, { claims, body });
    expect(answer.status).toBe(503);
    expect(puts).toHaveLength(4);
    expect(counted).toEqual(['RelayPutFailed']);
    // Pub/Sub redelivers: this time the bus takes it, and it is relayed, not "duplicate".
    const redelivery = await relayIn(deps, { claims, body });
    expect(redelivery.body.outcome).toBe('relayed');
    expect(puts).toHaveLength(5);
  });

  it('answers 409 while another delivery holds the claim, and lets it go once the claim expires', async () => {
    const { deps, clock, ledger } = setup();
    const event = gcpEvent(clock);
    await ledger.claim(event.id, clock.now() + 60_000); // a delivery that is still putting
    expect((await relayIn(deps, { claims, body: pushOf(event) })).status).toBe(409);
    clock.advance(61_000); // that delivery died without releasing
    expect((await relayIn(deps, { claims, body: pushOf(event) })).body.outcome).toBe('relayed');
  });

  it('refuses poison 400 with the reason (so Pub/Sub dead-letters it) and logs no event content', async () => {
    const { deps, clock, puts, counted, lines } = setup();
    const secret = 'ACTIVATION-KEY-abc123';
    const bad = { ...gcpEvent(clock, { policyHash: 'h', activationKey: secret }), type: 'LinkApproved' };
    const cases: Array<[string | undefined, RegExp]> = [
      [undefined, /body is empty/],
      ['{not json', /not JSON/],
      [JSON.stringify({ subscription: 's' }), /message: is required/],
      [JSON.stringify({ message: { data: '***' } }), /message.data: is not base64/],
      [JSON.stringify({ message: { data: Buffer.from('nope').toString('base64') } }), /not a JSON document/],
      [pushOf(bad), /not a crosslink CloudEvent: type: must be crosslink/],
      [pushOf(gcpEvent(clock), { 'ce-id': '01JD0000000000000000000000' }), /ce-id: .* differs/],
    ];
    for (const [body, reason] of cases) {
      const answer = await relayIn(deps, { claims, body });
      expect(answer.status).toBe(400);
      expect(answer.body.reason).toMatch(reason);
    }
    expect(puts).toHaveLength(0);
    expect(counted.every((c) => c === 'RelayPoison')).toBe(true);
    expect(counted).toHaveLength(cases.length);
    expect(lines.join('\n')).not.toContain(secret);
  });

  it('treats an entry the bus refuses as malformed as poison, not retried', async () => {
    const { deps, clock, puts, counted } = setup([[{ errorCode: 'MalformedDetail' }]]);
    const answer = await relayIn(deps, { claims, body: pushOf(gcpEvent(clock)) });
    expect(answer.status).toBe(400);
    expect(puts).toHaveLength(1);
    expect(counted).toEqual(['RelayPoison']);
  });
});
