/**
 * A failover of the ledger service (config/dr-plans/example-ledger.yaml: primary on Google
 * europe-west1, standby on AWS eu-west-1, traffic switched by a Cloud DNS failover policy) on the
 * local cloud, Google executing: an outage of europe-west1 seen by the two probe vantage points (the
 * real probe run against the service's health endpoints every 30 s of virtual time), the decider fed
 * each observation, and the failover decision run by the dr-failover workflow as written on the local
 * Workflows interpreter, its steps answered by the executor's core over the Firestore store on the
 * emulator. The promotion and the scaling are commanded on AWS (AWS's fence admits them), the flip's
 * hook drains the primary targets on Google. The clients resolve the name through the local Cloud
 * DNS (its health checks, the record's TTL). Measured, from the clients' counted outcomes: the time
 * they failed (detection, hysteresis, actions and the DNS TTL), the writes lost at the promotion, and
 * the client errors, against the plan's RTO and RPO. Then the primary region returns: the drained
 * primary targets keep Cloud DNS answering the standby alone.
 *
 * What stands in for deployed parts: the probes run in the test and their observations go straight
 * to the decider; the workflow runs on the interpreter in the test, not as a deployed execution of
 * the Google half, so its calls reach the executor's core directly, not the dr-signals function over
 * HTTP with OIDC; AWS's commanded side is its core fence (`admit`) in the test, and the relay between
 * them is in memory; the hooks are the world's admin actions (`service-promote`, `service-scale`,
 * `service-drain`), as the plan's hook functions would call them.
 */
import { DNS } from '@google-cloud/dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrPlan } from '#core/dr/plan.ts';
import { FirestoreDrExecutorStore } from '#gcp/dr-executor-store.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import type { LocalCloud } from '#local/index.ts';
import type { ExecutionOutcome } from '#local/workflows/outcome.ts';
import { dnsResolverOf } from '#local/world/dns-resolvers.ts';
import { type DrWorld, drWorld, eventLine } from '../support/dr-failover-engine.ts';
import { ledgerPlan } from '../support/dr-ledger.ts';
import { type ProbedDecider, probedDecider, probeRound as probeRoundOf } from '../support/dr-world.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';

const PROBE_INTERVAL_MS = 30_000;
const TTL_S = 30;
const PRIMARY_IP = '192.0.2.30';
const STANDBY_IP = '192.0.2.40';
const VANTAGES = ['gcp-europe-west4', 'aws-eu-central-1'];
const NAME = 'api.ledger.example.com.';

let cloud: LocalCloud;
let firestore: TestFirestore;
let plan: DrPlan;
let store: FirestoreDrExecutorStore;
let executor: DrWorld;
const act = (action: string, body: unknown) => admin(cloud, 'POST', `/world/${action}`, body);

beforeAll(async () => {
  firestore = await startTestFirestore();
  cloud = await startTestCloud();
  const P = cloud.gcp.project;
  await jwtClient(cloud.gcp.auth.keyFile('admin')).request({
    url: `${cloud.gcp.endpoint}/v1/projects/${P}/services/dns.googleapis.com:enable`,
    method: 'POST',
  });
  await act('service-create', {
    name: 'ledger',
    primary: 'gcp',
    gcp: { region: 'europe-west1', ip: PRIMARY_IP },
    aws: { region: 'eu-west-1', ip: STANDBY_IP },
    rpo: '5m',
  });
  // The record set the plan's flip names: its primary targets health checked, the backup on AWS.
  const dns = new DNS({ projectId: P, authClient: jwtClient(cloud.gcp.auth.keyFile('admin')) } as never);
  dns.baseUrl = `${cloud.gcp.endpoint}/dns/v1`;
  const [zone] = await dns.createZone('ledger-example-com', {
    dnsName: 'ledger.example.com.',
    description: '',
  });
  await zone.createChange({
    add: zone.record('a', {
      name: NAME,
      ttl: TTL_S,
      routingPolicy: {
        primaryBackup: {
          primaryTargets: { externalEndpoints: [PRIMARY_IP] },
          backupGeoTargets: {
            items: [{ location: 'europe-west1', healthCheckedTargets: { externalEndpoints: [STANDBY_IP] } }],
          },
        },
        healthCheck: `projects/${P}/global/healthChecks/ledger`,
      },
    } as never),
  });
  await cloud.clock.advance(10_000);
  // The plan's probes pointed at the world's health endpoints; no approval, so the outage alone moves it.
  plan = ledgerPlan((d) => {
    for (const s of d.signals) {
      if (s.name === 'ledger-api')
        s.detail = `GET ${cloud.serviceHealth}/services/ledger/gcp/europe-west1/healthz, 3 failures in a row`;
      if (s.name === 'standby-ready')
        s.detail = `GET ${cloud.serviceHealth}/services/ledger/aws/eu-west-1/readyz`;
    }
    d.decider = { approval: 'none' };
  });
  store = new FirestoreDrExecutorStore(firestore.db());
  executor = drWorld({
    plan,
    store,
    start: cloud.clock,
    hook: async (name, command) => {
      const a = command.action;
      if (a.type !== 'cloud-dns-failover-policy' || a.serve !== 'backup')
        return { status: 400, body: { error: `${name} drains the primary targets of a failover only` } };
      await act('service-drain', { name: 'ledger', cloud: 'gcp', on: true });
      return { status: 200, body: { detail: `primary targets of ${a.recordName} drained` } };
    },
    aws: (command) => ({
      outcome: 'succeeded',
      afterMs: 2_000, // the relay's crossing
      act: async () => {
        const a = command.action;
        if (a.type === 'promote-replica') {
          const promoted = await act('service-promote', { name: 'ledger', cloud: 'aws' });
          lossWindowMs = promoted.lossWindowMs;
          return `lost ${promoted.lostWrites} writes over ${promoted.lossWindowMs} ms`;
        }
        if (a.type === 'scale-standby')
          await act('service-scale', { name: 'ledger', cloud: 'aws', capacity: a.capacity });
        return undefined;
      },
    }),
  });
  await act('clients-start', {
    service: 'ledger',
    dnsName: NAME,
    provider: 'cloud-dns',
    interval: '1s',
    from: { cloud: 'gcp', region: 'europe-west4' },
  });
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
  await firestore?.stop();
});

let lossWindowMs: number | undefined;
let decider: ProbedDecider;
const executions: ExecutionOutcome[] = [];

/** One probe run of every vantage point; each observation to the decider, each move run by the workflow. */
const probeRound = () =>
  probeRoundOf(cloud, plan, decider, VANTAGES, async (move) => {
    executions.push(await executor.run({ decision: move }, { execution: `exec-${move.epoch}` }));
  });

const resolveNow = () => dnsResolverOf(cloud.clock, 'cloud-dns')?.resolve(NAME, 'A');

describe('a primary-region outage of a Cloud-DNS-switched plan, failed over by the Google executor', () => {
  it('serves from the standby within detection + hysteresis + actions + TTL, one failover, one epoch, actions in order', async () => {
    // Prepare: two minutes of a healthy primary
    decider = probedDecider(plan);
    for (let i = 0; i < 4; i++) {
      await probeRound();
      await cloud.clock.advance(PROBE_INTERVAL_MS);
    }
    const before = await act('clients', { service: 'ledger' });
    expect(before.failures).toEqual({});
    expect(before.bySide.gcp).toBeGreaterThan(0);

    // Act: the outage, then probe rounds until the clients are served by the promoted standby
    const outageAt = cloud.clock.now();
    await act('region-outage', { cloud: 'gcp', region: 'europe-west1', on: true });
    let served = false;
    while (!served && cloud.clock.now() - outageAt < 30 * 60_000) {
      await probeRound();
      await cloud.clock.advance(PROBE_INTERVAL_MS);
      const c = await act('clients', { service: 'ledger' });
      served = executions.length > 0 && c.transitions.at(-1)?.ok === true;
    }
    const clients = await act('clients', { service: 'ledger' });

    // Assess: exactly one failover, its actions in order under one epoch, in the store and the events
    expect(served).toBe(true);
    const moves = decider.decisions.filter((d) => d.decision !== 'hold');
    expect(moves.map((d) => d.decision)).toEqual(['failover']);
    expect(executions.map((e) => e.state)).toEqual(['SUCCEEDED']);
    const epoch = moves[0]?.epoch as number;
    expect(executor.published.map(eventLine)).toEqual([
      `DrDecisionMade e${epoch}`,
      `DrActionStarted #0 relay e${epoch}`,
      `DrActionFinished #0 succeeded e${epoch}`,
      `DrActionStarted #1 relay e${epoch}`,
      `DrActionFinished #1 succeeded e${epoch}`,
      `DrActionStarted #2 local e${epoch}`,
      `DrActionFinished #2 succeeded e${epoch}`,
      `DrFailedOver e${epoch}`,
    ]);
    const run = (await store.current('ledger'))?.run;
    expect(run?.status).toBe('succeeded');
    expect(run?.steps.map((s) => [s.action.type, s.epoch, s.status])).toEqual([
      ['promote-replica', epoch, 'succeeded'],
      ['scale-standby', epoch, 'succeeded'],
      ['cloud-dns-failover-policy', epoch, 'succeeded'],
    ]);
    expect(executor.fence().epoch).toBe(epoch);

    // Measured: the time the clients failed, against detection (3 probe intervals) + hysteresis +
    // actions + TTL, and the plan's RTO; the writes lost at promotion against the RPO.
    const transitions = clients.transitions as { at: string; ok: boolean }[];
    const failedAt = Date.parse(transitions.find((t) => !t.ok)?.at as string);
    const recoveredAt = Date.parse(transitions.at(-1)?.at as string);
    const rtoMs = recoveredAt - failedAt;
    const actionsMs = Date.parse(run?.finishedAt as string) - Date.parse(run?.startedAt as string);
    const bound =
      3 * PROBE_INTERVAL_MS + plan.settings.hysteresisMs + actionsMs + TTL_S * 1000 + PROBE_INTERVAL_MS;
    const failed = Object.values(clients.failures as Record<string, number>).reduce((a, b) => a + b, 0);
    console.log(
      `DR failover (Cloud DNS, Google executing) measured: RTO ${rtoMs / 1000}s (bound ${bound / 1000}s, actions ${actionsMs / 1000}s, plan ${plan.objectives.rto}), RPO ${lossWindowMs} ms (plan ${plan.objectives.rpo}), client errors ${failed} of ${clients.requests} (${JSON.stringify(clients.failures)})`,
    );
    expect(failedAt).toBeGreaterThanOrEqual(outageAt);
    expect(rtoMs).toBeLessThanOrEqual(bound);
    expect(rtoMs).toBeLessThanOrEqual(30 * 60_000);
    expect(lossWindowMs).toBeLessThanOrEqual(5 * 60_000);
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThanOrEqual(Math.ceil(rtoMs / 1000) + 1);
  }, 240_000);

  it('keeps Cloud DNS answering the standby alone when the primary region returns: its targets stay drained', async () => {
    // Act
    await act('region-outage', { cloud: 'gcp', region: 'europe-west1', on: false });
    await cloud.clock.advance(2 * 60_000);
    const answer = resolveNow();
    const before = await act('clients', { service: 'ledger' });
    await cloud.clock.advance(60_000);
    const after = await act('clients', { service: 'ledger' });
    // Assess
    expect(answer?.answers).toEqual([STANDBY_IP]);
    expect((after.bySide.gcp ?? 0) - (before.bySide.gcp ?? 0)).toBe(0);
    expect(after.successes - before.successes).toBeGreaterThanOrEqual(59);
  }, 60_000);
});
