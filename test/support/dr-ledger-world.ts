/**
 * The ledger service's world on a test local cloud, for the Google executor's world tests: the
 * service (primary Google europe-west1, standby AWS eu-west-1), the Cloud DNS record set the plan's
 * flip names (its primary targets health checked, the backup on AWS, TTL 30 s), its clients in
 * europe-west4 resolving through Cloud DNS, the plan's probes pointed at the world's health endpoints
 * (no approval: the outage alone moves it), and the dr-failover workflow's engine over the Firestore
 * store on the emulator: Google's own hook fencing Cloud SQL (the world's `service-fence`), AWS's
 * commanded side promoting and scaling through the world's admin actions 2 s after a command
 * crosses (none crosses while `relay.cut`), the flip's hook draining the primary targets.
 */
import { DNS } from '@google-cloud/dns';
import type { DrPlan } from '#core/dr/plan.ts';
import { FirestoreDrExecutorStore } from '#gcp/dr-executor-store.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import type { LocalCloud } from '#local/index.ts';
import { dnsResolverOf } from '#local/world/dns-resolvers.ts';
import { type DrWorld, drWorld } from './dr-failover-engine.ts';
import { ledgerPlan, ledgerProbesAt } from './dr-ledger.ts';
import type { TestFirestore } from './firestore.ts';
import { admin } from './local-cloud.ts';

export const LEDGER = {
  ttlS: 30,
  primaryIp: '192.0.2.30',
  standbyIp: '192.0.2.40',
  name: 'api.ledger.example.com.',
  vantages: ['gcp-europe-west4', 'aws-eu-central-1'],
};

export interface LedgerDnsWorld {
  plan: DrPlan;
  store: FirestoreDrExecutorStore;
  executor: DrWorld;
  /** What the promotion reported, once it ran. */
  promoted: { lossWindowMs?: number; lostWrites?: number };
  /** While cut, no command crosses the relay to AWS. */
  relay: { cut: boolean };
  /** What Cloud DNS's name servers answer for the service now. */
  answers: () => string[];
}

/**
 * The ledger service in the world (primary Google europe-west1, standby AWS eu-west-1, RPO 5m) and
 * the Cloud DNS record set its plan's flip names: a failover (primaryBackup) policy whose primary
 * targets are health checked, the backup on AWS, TTL 30 s; the DNS API enabled; the change served.
 */
export async function createLedgerDns(cloud: LocalCloud): Promise<void> {
  const act = (action: string, body: unknown) => admin(cloud, 'POST', `/world/${action}`, body);
  const P = cloud.gcp.project;
  await jwtClient(cloud.gcp.auth.keyFile('admin')).request({
    url: `${cloud.gcp.endpoint}/v1/projects/${P}/services/dns.googleapis.com:enable`,
    method: 'POST',
  });
  await act('service-create', {
    name: 'ledger',
    primary: 'gcp',
    gcp: { region: 'europe-west1', ip: LEDGER.primaryIp },
    aws: { region: 'eu-west-1', ip: LEDGER.standbyIp },
    rpo: '5m',
  });
  const dns = new DNS({ projectId: P, authClient: jwtClient(cloud.gcp.auth.keyFile('admin')) } as never);
  dns.baseUrl = `${cloud.gcp.endpoint}/dns/v1`;
  const [zone] = await dns.createZone('ledger-example-com', {
    dnsName: 'ledger.example.com.',
    description: '',
  });
  await zone.createChange({
    add: zone.record('a', {
      name: LEDGER.name,
      ttl: LEDGER.ttlS,
      routingPolicy: {
        primaryBackup: {
          primaryTargets: { externalEndpoints: [LEDGER.primaryIp] },
          backupGeoTargets: {
            items: [
              { location: 'europe-west1', healthCheckedTargets: { externalEndpoints: [LEDGER.standbyIp] } },
            ],
          },
        },
        healthCheck: `projects/${P}/global/healthChecks/ledger`,
      },
    } as never),
  });
  // The change is served once done (Cloud DNS propagates it in seconds): a lookup before would be
  // answered empty and cached for the negative TTL.
  await cloud.clock.advance(10_000);
}

/** The ledger's clients in europe-west4, a request a second, resolving its name through Cloud DNS. */
export async function startLedgerClients(cloud: LocalCloud): Promise<void> {
  await admin(cloud, 'POST', '/world/clients-start', {
    service: 'ledger',
    dnsName: LEDGER.name,
    provider: 'cloud-dns',
    interval: '1s',
    from: { cloud: 'gcp', region: 'europe-west4' },
  });
}

/** What Cloud DNS's name servers answer for the ledger's name now. */
export const ledgerAnswers = (cloud: LocalCloud): string[] =>
  dnsResolverOf(cloud.clock, 'cloud-dns')?.resolve(LEDGER.name, 'A')?.answers ?? [];

export async function ledgerDnsWorld(
  cloud: LocalCloud,
  firestore: TestFirestore,
  o: { afterStep?: () => Promise<void> } = {},
): Promise<LedgerDnsWorld> {
  const act = (action: string, body: unknown) => admin(cloud, 'POST', `/world/${action}`, body);
  await createLedgerDns(cloud);
  const plan = ledgerPlan((d) => {
    ledgerProbesAt(d, cloud.serviceHealth);
    d.decider = { approval: 'none' };
  });
  const store = new FirestoreDrExecutorStore(firestore.db());
  const promoted: LedgerDnsWorld['promoted'] = {};
  const relay = { cut: false };
  const executor = drWorld({
    plan,
    store,
    start: cloud.clock,
    ...(o.afterStep && { afterStep: o.afterStep }),
    hook: async (name, command) => {
      const a = command.action;
      if (a.type === 'fence-writer') {
        const f = await act('service-fence', { name: 'ledger', cloud: 'gcp' });
        return { status: 200, body: { detail: `fenced: gcp ${f.role}, its writes revoked` } };
      }
      if (a.type !== 'cloud-dns-failover-policy' || a.serve !== 'backup')
        return { status: 400, body: { error: `${name} drains the primary targets of a failover only` } };
      await act('service-drain', { name: 'ledger', cloud: 'gcp', on: true });
      return { status: 200, body: { detail: `primary targets of ${a.recordName} drained` } };
    },
    aws: (command) =>
      relay.cut
        ? 'lost'
        : {
            outcome: 'succeeded',
            afterMs: 2_000, // the relay's crossing
            act: async () => {
              const a = command.action;
              if (a.type === 'promote-replica') {
                Object.assign(promoted, await act('service-promote', { name: 'ledger', cloud: 'aws' }));
                return `lost ${promoted.lostWrites} writes over ${promoted.lossWindowMs} ms`;
              }
              if (a.type === 'scale-standby')
                await act('service-scale', { name: 'ledger', cloud: 'aws', capacity: a.capacity });
              return undefined;
            },
          },
  });
  await startLedgerClients(cloud);
  const answers = () => ledgerAnswers(cloud);
  return { plan, store, executor, promoted, relay, answers };
}
