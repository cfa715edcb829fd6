/**
 * The local Cloud DNS through the real @google-cloud/dns client (JWT-bearer flow of the identities'
 * key files): zones, changes (pending, then done), the API's refusals, a `primaryBackup` failover
 * routing policy that answers the backup once the primary's health checks fail, the record's TTL
 * honoured by the protected service's caching clients during a region outage, and IAM refusing a
 * caller without the DNS permissions.
 */
import { DNS } from '@google-cloud/dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtClient } from '#gcp/google-credentials.ts';
import type { LocalCloud } from '#local/index.ts';
import { dnsResolverOf } from '#local/world/dns-resolvers.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let P: string;

function dnsAs(who: string): DNS {
  const dns = new DNS({ projectId: P, authClient: jwtClient(cloud.gcp.auth.keyFile(who)) } as never);
  dns.baseUrl = `${cloud.gcp.endpoint}/dns/v1`;
  return dns;
}

const world = (action: string, body: unknown) => admin(cloud, 'POST', `/world/${action}`, body);

/** The error a client call rejects with: its HTTP code and Cloud DNS's reason. */
async function refusal(p: Promise<unknown>): Promise<{ code?: number; reason?: string; message?: string }> {
  const e = (await p.then(
    () => ({}),
    (err: unknown) => err,
  )) as { code?: number; errors?: { reason?: string }[]; message?: string };
  return { code: e.code, reason: e.errors?.[0]?.reason, message: e.message };
}

const resolve = (name: string) => dnsResolverOf(cloud.clock, 'cloud-dns')!.resolve(name, 'A');

beforeAll(async () => {
  cloud = await startTestCloud();
  P = cloud.gcp.project;
  // A project turns the Cloud DNS API on before using it, as on Google.
  const usage = jwtClient(cloud.gcp.auth.keyFile('admin'));
  await usage.request({
    url: `${cloud.gcp.endpoint}/v1/projects/${P}/services/dns.googleapis.com:enable`,
    method: 'POST',
  });
});
afterAll(async () => {
  await cloud?.stop();
});

describe('Cloud DNS: zones and changes', () => {
  it('creates a zone with its SOA and NS, applies a change pending then done, and lists both', async () => {
    // Prepare
    const dns = dnsAs('admin');
    const [zone] = await dns.createZone('shop', { dnsName: 'shop.example.com.', description: 'shop' });
    // Act
    const [change] = await zone.addRecords(
      zone.record('a', { name: 'www.shop.example.com.', ttl: 60, data: ['203.0.113.10'] }),
    );
    const pendingAnswer = resolve('www.shop.example.com');
    const [pending] = await change.getMetadata();
    await cloud.clock.advance(5_000);
    const [done] = await change.getMetadata();
    const [records] = await zone.getRecords();
    const [zones] = await dns.getZones();
    // Assess
    expect(pending.status).toBe('pending');
    expect(pendingAnswer).toEqual({ answers: [], ttl: 300 });
    expect(done.status).toBe('done');
    expect(resolve('www.shop.example.com')).toEqual({ answers: ['203.0.113.10'], ttl: 60 });
    expect(records.map((r) => `${r.metadata.name} ${r.type}`).sort()).toEqual([
      'shop.example.com. NS',
      'shop.example.com. SOA',
      'www.shop.example.com. A',
    ]);
    expect(zones.map((z) => z.metadata.dnsName)).toContain('shop.example.com.');
  });

  it('refuses what Cloud DNS refuses, each with its reason: a taken name, an existing record set, a deletion that does not match, a zone that is not empty', async () => {
    // Prepare
    const dns = dnsAs('admin');
    const zone = dns.zone('shop');
    const stale = zone.record('a', { name: 'www.shop.example.com.', ttl: 60, data: ['198.51.100.1'] });
    // Act
    const taken = await refusal(dns.createZone('shop', { dnsName: 'other.example.com.', description: '' }));
    const exists = await refusal(
      zone.addRecords(zone.record('a', { name: 'www.shop.example.com.', ttl: 60, data: ['203.0.113.11'] })),
    );
    const mismatch = await refusal(zone.deleteRecords(stale));
    const notEmpty = await refusal(zone.delete());
    const badName = await refusal(
      zone.addRecords(zone.record('a', { name: 'www.elsewhere.org.', ttl: 60, data: ['203.0.113.12'] })),
    );
    // Assess
    expect(taken).toMatchObject({ code: 409, reason: 'alreadyExists' });
    expect(exists).toMatchObject({ code: 409, reason: 'alreadyExists' });
    expect(exists.message).toContain("'www.shop.example.com. (A)'");
    expect(mismatch).toMatchObject({ code: 412, reason: 'conditionNotMet' });
    expect(notEmpty).toMatchObject({ code: 400, reason: 'containerNotEmpty' });
    expect(badName).toMatchObject({ code: 400, reason: 'invalid' });
    expect(badName.message).toContain('entity.change.additions[0].name');
  });

  it('refuses a caller without the DNS permissions, with the 403 naming the permission', async () => {
    // Act
    const carol = await refusal(
      dnsAs('carol').createZone('carols', { dnsName: 'c.example.com.', description: '' }),
    );
    // Assess
    expect(carol.code).toBe(403);
    expect(carol.message).toContain(
      `Permission 'dns.managedZones.create' denied on resource 'projects/${P}'`,
    );
  });
});

describe('Cloud DNS: a primaryBackup failover policy follows the health of its targets', () => {
  const PRIMARY = '192.0.2.10';
  const BACKUP = '192.0.2.20';

  it('answers the healthy primary, the backup two failed checks after the primary region goes out, and the primary again after it recovers', async () => {
    // Prepare
    await world('service-create', {
      name: 'payments-api',
      primary: 'aws',
      aws: { region: 'us-east-1', ip: PRIMARY },
      gcp: { region: 'us-central1', ip: BACKUP },
      rpo: '1m',
    });
    const dns = dnsAs('admin');
    const [zone] = await dns.createZone('payments', { dnsName: 'payments.example.com.', description: '' });
    await zone.createChange({
      add: zone.record('a', {
        name: 'api.payments.example.com.',
        ttl: 30,
        routingPolicy: {
          primaryBackup: {
            primaryTargets: { externalEndpoints: [PRIMARY] },
            backupGeoTargets: {
              items: [{ location: 'us-central1', healthCheckedTargets: { externalEndpoints: [BACKUP] } }],
            },
          },
          healthCheck: `projects/${P}/global/healthChecks/payments-api`,
        },
      } as never),
    });
    await cloud.clock.advance(5_000);
    const before = resolve('api.payments.example.com.');
    // Act
    await world('region-outage', { cloud: 'aws', region: 'us-east-1' });
    await cloud.clock.advance(5_000);
    const afterOneCheck = resolve('api.payments.example.com.');
    await cloud.clock.advance(5_000);
    const afterTwoChecks = resolve('api.payments.example.com.');
    await world('region-outage', { cloud: 'aws', region: 'us-east-1', on: false });
    await cloud.clock.advance(10_000);
    const recovered = resolve('api.payments.example.com.');
    // Assess
    expect(before).toEqual({ answers: [PRIMARY], ttl: 30 });
    expect(afterOneCheck).toEqual({ answers: [PRIMARY], ttl: 30 });
    expect(afterTwoChecks).toEqual({ answers: [BACKUP], ttl: 30 });
    expect(recovered).toEqual({ answers: [PRIMARY], ttl: 30 });
  });

  it('refuses health-checked external endpoints without a health check, and internal load balancers in a public zone', async () => {
    // Prepare
    const zone = dnsAs('admin').zone('payments');
    const record = (routingPolicy: unknown) =>
      zone.record('a', { name: 'x.payments.example.com.', ttl: 30, routingPolicy } as never);
    // Act
    const noCheck = await refusal(
      zone.addRecords(
        record({
          primaryBackup: {
            primaryTargets: { externalEndpoints: [PRIMARY] },
            backupGeoTargets: { items: [{ location: 'us-central1', rrdatas: [BACKUP] }] },
          },
        }),
      ),
    );
    const ilb = await refusal(
      zone.addRecords(
        record({
          wrr: {
            items: [
              {
                weight: 1,
                healthCheckedTargets: {
                  internalLoadBalancers: [
                    {
                      ipAddress: '10.0.0.5',
                      port: '443',
                      ipProtocol: 'tcp',
                      loadBalancerType: 'regionalL4ilb',
                      networkUrl: `https://www.googleapis.com/compute/v1/projects/${P}/global/networks/default`,
                      project: P,
                      region: 'us-central1',
                    },
                  ],
                },
              },
            ],
          },
        }),
      ),
    );
    // Assess
    expect(noCheck).toMatchObject({ code: 400, reason: 'required' });
    expect(noCheck.message).toContain('entity.change.additions[0].routingPolicy.healthCheck');
    expect(ilb).toMatchObject({ code: 400, reason: 'invalid' });
    expect(ilb.message).toContain('private zones only');
  });

  it("the service's clients keep the cached answer for its TTL: they fail while it lasts, then reach the promoted standby", async () => {
    // Prepare
    await world('clients-start', {
      service: 'payments-api',
      dnsName: 'api.payments.example.com.',
      provider: 'cloud-dns',
      interval: '1s',
    });
    await cloud.clock.advance(20_000);
    const steady = await world('clients', { service: 'payments-api' });
    // Act: the primary region goes out; the standby is promoted at once.
    await world('region-outage', { cloud: 'aws', region: 'us-east-1' });
    const outageAt = cloud.clock.now();
    await world('service-promote', { name: 'payments-api', cloud: 'gcp' });
    await cloud.clock.advance(60_000);
    const after: {
      failures: Record<string, number>;
      transitions: { at: string; ok: boolean; reason?: string; side?: string }[];
      bySide: Record<string, number>;
    } = await world('clients', { service: 'payments-api' });
    await world('clients-stop', { service: 'payments-api' });
    await world('region-outage', { cloud: 'aws', region: 'us-east-1', on: false });
    // Assess
    expect(steady.failures).toEqual({});
    expect(after.bySide.gcp).toBeGreaterThan(0);
    const firstFailure = after.transitions.find((t) => !t.ok)!;
    const recovery = after.transitions.find((t) => t.ok && t.side === 'gcp')!;
    const failingMs = Date.parse(recovery.at) - Date.parse(firstFailure.at);
    // Detection (two failed checks, 10 s) plus up to one TTL (30 s) of the cached primary answer.
    expect(Date.parse(firstFailure.at) - outageAt).toBeLessThanOrEqual(1_000);
    expect(failingMs).toBeGreaterThanOrEqual(10_000);
    expect(failingMs).toBeLessThanOrEqual(41_000);
    expect(after.failures['region-down']).toBe(Math.round(failingMs / 1_000));
  });
});
