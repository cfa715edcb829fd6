/**
 * A Cloud DNS record set's `primaryBackup` routing policy read with the @google-cloud/dns client
 * (`resourceRecordSets.list` filtered by name, docs/dr-signals.md "The serving side read from Cloud
 * DNS"). A zone or record set that is not there, or a record set without a `primaryBackup` policy,
 * is `absent` with why; any other refusal (permission denied, a bad request) is thrown.
 */
import type { DNS } from '@google-cloud/dns';
import type { DnsPolicyReader, DnsSwitch, PrimaryBackupPolicy } from '#core/dr/serving.ts';

interface Targets {
  internalLoadBalancers?: { ipAddress?: string; port?: string }[];
  externalEndpoints?: string[];
}

interface RecordJson {
  name?: string;
  type?: string;
  ttl?: number;
  routingPolicy?: {
    primaryBackup?: {
      primaryTargets?: Targets;
      backupGeoTargets?: {
        items?: { location?: string; rrdatas?: string[]; healthCheckedTargets?: Targets }[];
      };
      trickleTraffic?: number;
    };
  };
}

/** Health-checked targets as text: an external endpoint's address, an internal load balancer's `ip:port`. */
function targetsOf(t: Targets | undefined): string[] {
  return [
    ...(t?.externalEndpoints ?? []),
    ...(t?.internalLoadBalancers ?? []).map((lb) => `${lb.ipAddress}${lb.port ? `:${lb.port}` : ''}`),
  ];
}

export class CloudDnsPolicyReader implements DnsPolicyReader {
  readonly #dns: DNS;

  constructor(dns: DNS) {
    this.#dns = dns;
  }

  async primaryBackup(sw: DnsSwitch): Promise<PrimaryBackupPolicy | { absent: string }> {
    let records: { type: string; metadata: RecordJson }[];
    try {
      // The client's query type lists no `name`; the API filters by it (rrsets.list).
      const [list] = await this.#dns.zone(sw.managedZone).getRecords({ name: sw.recordName } as never);
      records = list as unknown as typeof records;
    } catch (err) {
      const e = err as Error & { code?: number };
      if (e.code === 404) return { absent: `managed zone ${sw.managedZone}: ${e.message}` };
      throw err;
    }
    const named = records.filter((r) => r.metadata.name === sw.recordName);
    const policy = named.find((r) => r.metadata.routingPolicy?.primaryBackup);
    if (!policy)
      return {
        absent:
          named.length === 0
            ? `no record set named ${sw.recordName} in ${sw.managedZone}`
            : `${sw.recordName} (${named.map((r) => r.type).join(', ')}) in ${sw.managedZone} has no primaryBackup routing policy`,
      };
    const p = policy.metadata.routingPolicy?.primaryBackup ?? {};
    return {
      type: policy.type,
      ttl: policy.metadata.ttl ?? 0,
      primaryTargets: targetsOf(p.primaryTargets),
      backupTargets: (p.backupGeoTargets?.items ?? []).map((i) => ({
        location: i.location ?? '',
        targets: [...(i.rrdatas ?? []), ...targetsOf(i.healthCheckedTargets)],
      })),
      trickleTraffic: p.trickleTraffic ?? 0,
    };
  }
}
