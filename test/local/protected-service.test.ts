/**
 * The protected service's world on its own virtual clock: the replicated database (lag, promotion
 * losing the writes not yet replicated, split brain recorded, demotion re-seeding), compute scaling
 * on the clock, and the health endpoints over loopback HTTP with a vantage point's own network
 * failing and a region out.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '#local/clock.ts';
import { ServiceHealthServer } from '#local/world/health-server.ts';
import { type ProtectedService, serviceWorldOf } from '#local/world/protected-service.ts';
import { regionOutagesOf } from '#local/world/region-outages.ts';
import { addPaymentsService } from '../support/dr-world.ts';

let clock: VirtualClock;
let service: ProtectedService;

beforeEach(() => {
  clock = new VirtualClock({ mode: 'manual', start: Date.parse('2026-06-01T00:00:00Z') });
  service = addPaymentsService(clock);
});
afterEach(() => clock.stop());

/** One write on `side` every second for `seconds`. */
async function writeFor(seconds: number, side: 'aws' | 'gcp' = 'aws') {
  for (let i = 0; i < seconds; i++) {
    expect(service.db.write(side)).toEqual({ ok: true });
    await clock.advance(1_000);
  }
}

describe('the replicated database', () => {
  it('replicates each write after the apply delay while the path is up: no lag, nothing lost at promotion', async () => {
    // Prepare
    await writeFor(30);
    await clock.advance(1_000);
    // Act
    const promotion = service.db.promote('gcp');
    // Assess
    expect(promotion).toMatchObject({ side: 'gcp', lostWrites: 0, lossWindowMs: 0, lagMs: 0 });
  });

  it('a stalled replication builds lag; promoting then loses exactly the writes made since the stall, and reports them', async () => {
    // Prepare
    await writeFor(10);
    await clock.advance(1_000);
    service.db.sync();
    service.stalled = true;
    await writeFor(45);
    const withinRpo = service.readyz('gcp');
    await writeFor(25);
    // Act
    const lag = service.db.lagMs('gcp');
    const readyz = service.readyz('gcp');
    const promotion = service.db.promote('gcp');
    // Assess: from the last write the replica held (t=9 s) to the last one made (t=80 s).
    expect(withinRpo.status).toBe(200);
    expect(lag).toBe(71_000);
    expect(readyz.status).toBe(503);
    expect(readyz.body.status).toBe('replica-behind');
    expect(promotion.lostWrites).toBe(70);
    expect(promotion.lagMs).toBe(71_000);
    expect(promotion.lossWindowMs).toBe(71_000);
  });

  it('records a split brain while two writers can take writes, and ends it when the old writer is demoted', async () => {
    // Prepare
    await writeFor(5);
    service.db.sync();
    service.stalled = true;
    await writeFor(3);
    // Act
    service.db.promote('gcp');
    const both = [service.db.write('aws'), service.db.write('gcp')];
    await clock.advance(10_000);
    const demoted = service.db.demote('aws');
    const afterDemote = service.db.write('aws');
    // Assess
    expect(both).toEqual([{ ok: true }, { ok: true }]);
    const view = service.db.describe();
    expect(view.splitBrains).toEqual([
      { since: '2026-06-01T00:00:08.000Z', until: '2026-06-01T00:00:18.000Z' },
    ]);
    // The 3 stalled writes and the one taken while both were writers exist only on aws.
    expect(demoted.discardedWrites).toBe(4);
    expect(afterDemote).toEqual({ ok: false, reason: 'read-only' });
    expect(view.aws.role).toBe('replica');
  });

  it('a writer in a region that is out takes no writes and is no split brain until the region returns', async () => {
    // Prepare
    await writeFor(5);
    regionOutagesOf(clock).set('aws', 'us-east-1', true);
    // Act
    const refused = service.db.write('aws');
    await clock.advance(120_000);
    // The replica's lag does not grow while its writer takes no writes: the standby stays ready.
    const standby = service.readyz('gcp');
    service.db.promote('gcp');
    await clock.advance(60_000);
    const during = service.db.describe().splitBrains.length;
    regionOutagesOf(clock).set('aws', 'us-east-1', false);
    service.db.sync();
    // Assess
    expect(refused).toEqual({ ok: false, reason: 'region-down' });
    // The write at t=4 s was due at t=5 s, when the region went out: a 1 s window, however long it lasts.
    expect(standby).toMatchObject({ status: 200, body: { role: 'replica', lagMs: 1_000 } });
    expect(during).toBe(0);
    expect(service.db.describe().splitBrains).toHaveLength(1);
  });

  it('a writer fenced while its region is out refuses writes when it returns and is no split brain', async () => {
    // Prepare
    await writeFor(5);
    regionOutagesOf(clock).set('aws', 'us-east-1', true);
    // Act: fence, then promote, as a failover does; the fence is global, so it works during the outage.
    const fence = service.db.fence('aws');
    service.db.promote('gcp');
    await clock.advance(60_000);
    regionOutagesOf(clock).set('aws', 'us-east-1', false);
    const stale = service.db.write('aws');
    const serving = service.db.write('gcp');
    await clock.advance(60_000);
    const view = service.db.describe();
    // Assess
    expect(fence).toEqual({ side: 'aws', role: 'writer', fenced: true });
    expect(stale).toEqual({ ok: false, reason: 'fenced' });
    expect(serving).toEqual({ ok: true });
    expect(view.splitBrains).toEqual([]);
    expect(view.aws).toMatchObject({ role: 'writer', fenced: true, available: true });
    expect(view.gcp).toMatchObject({ role: 'writer', fenced: false });
  });

  it('without the fence, the same outage and promotion leave a split brain when the region returns', async () => {
    // Prepare
    await writeFor(5);
    regionOutagesOf(clock).set('aws', 'us-east-1', true);
    service.db.promote('gcp');
    // Act
    regionOutagesOf(clock).set('aws', 'us-east-1', false);
    const stale = service.db.write('aws');
    // Assess
    expect(stale).toEqual({ ok: true });
    expect(service.db.describe().splitBrains).toHaveLength(1);
  });

  it('a failback re-seeds the fenced old writer from the current one, fences that, and promotes: one writer, the stale writes counted', async () => {
    // Prepare: aws took a write gcp never received, then failed over with a fence.
    await writeFor(5);
    service.db.sync();
    service.stalled = true;
    await writeFor(2);
    regionOutagesOf(clock).set('aws', 'us-east-1', true);
    service.db.fence('aws');
    service.db.promote('gcp');
    await writeFor(3, 'gcp');
    regionOutagesOf(clock).set('aws', 'us-east-1', false);
    service.stalled = false;
    // Act: the failback fences gcp, then re-seeds aws from gcp (lifting its fence) and promotes it.
    service.db.fence('gcp');
    const demoted = service.db.demote('aws');
    const promoted = service.db.promote('aws');
    const writes = [service.db.write('aws'), service.db.write('gcp')];
    const view = service.db.describe();
    // Assess
    expect(demoted.discardedWrites).toBe(2);
    expect(promoted.lostWrites).toBe(0);
    expect(writes).toEqual([{ ok: true }, { ok: false, reason: 'fenced' }]);
    expect(view.aws).toMatchObject({ role: 'writer', fenced: false, writes: 9 });
    expect(view.gcp).toMatchObject({ role: 'writer', fenced: true });
    expect(view.splitBrains).toEqual([]);
    // Promoting a side lifts its own fence: the next failover's promotion re-seeds gcp first.
    expect(() => service.db.promote('gcp')).toThrow('side: the gcp database is already a writer');
    service.db.fence('aws');
    service.db.demote('gcp');
    service.db.promote('gcp');
    expect(service.db.fenced('gcp')).toBe(false);
    expect(service.db.write('gcp')).toEqual({ ok: true });
  });

  it('refuses what cannot be done, naming the field', () => {
    expect(() => service.db.promote('aws')).toThrow('side: the aws database is already a writer');
    expect(() => service.db.demote('aws')).toThrow('side: the gcp database is not a writer');
    expect(() => service.scale('gcp', -1)).toThrow('capacity: must be an integer');
    expect(() =>
      serviceWorldOf(clock).add({
        name: 'other',
        primary: 'aws',
        aws: { region: 'us-east-1', ip: '192.0.2.10' },
        gcp: { region: 'us-central1', ip: '192.0.2.30' },
      }),
    ).toThrow('aws.ip: 192.0.2.10 is already served by another service');
  });
});

describe('compute', () => {
  it('a scale-up runs after the startup time; scaling to zero stops serving at once', async () => {
    // Act
    const zero = service.scale('gcp', 0);
    const down = service.downReason('gcp');
    const up = service.scale('gcp', 12);
    await clock.advance(29_000);
    const early = service.running('gcp');
    await clock.advance(1_000);
    // Assess
    expect(zero).toEqual({ desired: 0, running: 0 });
    expect(down).toBe('no-capacity');
    expect(up).toEqual({ desired: 12, running: 0 });
    expect(early).toBe(0);
    expect(service.running('gcp')).toBe(12);
    expect(service.healthz('gcp').status).toBe(200);
  });
});

describe('health endpoints over loopback HTTP', () => {
  it('answer per side; a failing vantage network and an out region reach nothing, told apart by /connectivity', async () => {
    // Prepare
    const server = new ServiceHealthServer(clock);
    const base = await server.start();
    const get = (path: string, vantage = 'gcp-us-west1') =>
      fetch(`${base}${path}`, { headers: { 'x-crosslink-vantage': vantage } }).then(
        async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }),
        () => 'no answer' as const,
      );
    try {
      // Act
      const healthy = await get('/services/payments-api/aws/us-east-1/healthz');
      const ready = await get('/services/payments-api/gcp/us-central1/readyz');
      const wrongRegion = await get('/services/payments-api/aws/us-west-2/healthz');
      serviceWorldOf(clock).vantageDown.add('gcp-us-west1');
      const ownNetwork = await get('/services/payments-api/aws/us-east-1/healthz');
      const ownConnectivity = await get('/connectivity');
      const otherVantage = await get('/services/payments-api/aws/us-east-1/healthz', 'aws-us-west-2');
      regionOutagesOf(clock).set('aws', 'us-east-1', true);
      const regionOut = await get('/services/payments-api/aws/us-east-1/healthz', 'aws-us-west-2');
      const connectivity = await get('/connectivity', 'aws-us-west-2');
      // Assess
      expect(healthy).toMatchObject({ status: 200, body: { status: 'ok', running: 2 } });
      expect(ready).toMatchObject({ status: 200, body: { role: 'replica', lagMs: 0 } });
      expect(wrongRegion).toMatchObject({ status: 404 });
      expect(ownNetwork).toBe('no answer');
      expect(ownConnectivity).toBe('no answer');
      expect(otherVantage).toMatchObject({ status: 200 });
      expect(regionOut).toBe('no answer');
      expect(connectivity).toMatchObject({ status: 200 });
    } finally {
      await server.stop();
    }
  });
});
