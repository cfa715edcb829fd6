/**
 * `crosslink vpn plan` of 1,000 and 10,000 VPNs through the CLI, file parsing included: a fresh
 * `node scripts/crosslink.ts` process per run (wall time, median of 3), on exports written in the
 * shape the clouds' CLIs print them (every field the AWS CLI and gcloud print, not only the ones the
 * importers read) with a day of hourly traffic per VPN. Goal: 10,000 VPNs in under 5 s. The machine
 * is shared, so the process's own CPU time is printed beside the wall time, with the load average.
 * Beside it, the same files' parse alone: JSON.parse against the YAML document parser, on 1,000 VPNs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';

const root = resolve(import.meta.dirname, '..');
/** Loaded before the CLI: prints the process's own CPU time (user + system) as it exits. */
const CPU_PROBE = `data:text/javascript,process.on('exit',()=>{const u=process.cpuUsage();process.stderr.write('cpu-ms '+Math.round((u.user+u.system)/1000)+'\\n')})`;
const NOW = Date.parse('2026-11-20T12:00:00Z');
const HOUR = 3_600_000;
const GCP = 'https://www.googleapis.com/compute/v1/projects/bench-net';

const hex = (n: number, width = 17) => n.toString(16).padStart(width, '0');
const ip = (n: number) => `3.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
const iso = (t: number) => new Date(t).toISOString();

/** The four input files for `count` VPNs: four VPNs and one ACTIVE link per pair of networks. */
function exports(count: number): Record<'aws' | 'gcp' | 'links' | 'metrics', unknown> {
  const VpnConnections: unknown[] = [];
  const CustomerGateways: unknown[] = [];
  const vpnTunnels: unknown[] = [];
  const routers: unknown[] = [];
  const routerStatus: Record<string, unknown> = {};
  const externalVpnGateways: unknown[] = [];
  const links: unknown[] = [];
  const traffic: unknown[] = [];
  const pairs = Math.ceil(count / 4);
  for (let p = 0; p < pairs; p++) {
    const vgw = `vgw-${hex(p)}`;
    const network = `${GCP}/global/networks/net-${p}`;
    const router = `cr-${p}`;
    const awsPrefix = `10.${(p >> 8) & 255}.${p & 255}.0/24`;
    const gcpPrefix = `172.${16 + ((p >> 8) & 15)}.${p & 255}.0/24`;
    const linkId = `lk-${hex(p, 8)}`;
    links.push({
      linkId,
      state: 'ACTIVE',
      aws: { gatewayId: vgw, allowedPrefixes: [awsPrefix] },
      gcp: { network, peering: `transport-${linkId}`, advertisedRoutes: [gcpPrefix] },
      health: [{ at: iso(NOW - 30 * 24 * HOUR), status: 'healthy' }],
    });
    const peers: unknown[] = [];
    const interfaces: unknown[] = [];
    const bestRoutes: unknown[] = [];
    for (let k = 0; k < 4 && VpnConnections.length < count; k++) {
      const n = p * 4 + k;
      const id = `vpn-${hex(n)}`;
      const drained = k === 0;
      const outside = [ip(2 * n), ip(2 * n + 1)];
      VpnConnections.push({
        CustomerGatewayConfiguration: `<?xml version="1.0" encoding="UTF-8"?>\n<vpn_connection id="${id}">...</vpn_connection>`,
        CustomerGatewayId: `cgw-${hex(n)}`,
        Category: 'VPN',
        State: 'available',
        Type: 'ipsec.1',
        VpnConnectionId: id,
        Options: {
          EnableAcceleration: false,
          StaticRoutesOnly: false,
          LocalIpv4NetworkCidr: '0.0.0.0/0',
          RemoteIpv4NetworkCidr: '0.0.0.0/0',
          OutsideIpAddressType: 'PublicIpv4',
          TunnelInsideIpVersion: 'ipv4',
          TunnelOptions: outside.map((o, t) => ({
            OutsideIpAddress: o,
            TunnelInsideCidr: `169.254.${t}.0/30`,
            PreSharedKey: '**redacted**',
            IkeVersions: [{ Value: 'ikev2' }],
          })),
        },
        Routes: [],
        Tags: [{ Key: 'Name', Value: `to-gcp-${n}` }],
        VgwTelemetry: outside.map((o) => ({
          AcceptedRouteCount: drained ? 0 : 1,
          LastStatusChange: iso(NOW - 10 * 24 * HOUR),
          OutsideIpAddress: o,
          Status: drained ? 'DOWN' : 'UP',
          StatusMessage: drained ? '' : '1 BGP ROUTES',
        })),
        VpnGatewayId: vgw,
      });
      CustomerGateways.push({
        BgpAsn: '65010',
        CustomerGatewayId: `cgw-${hex(n)}`,
        IpAddress: `35.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
        State: 'available',
        Type: 'ipsec.1',
        Tags: [],
      });
      externalVpnGateways.push({
        kind: 'compute#externalVpnGateway',
        name: `aws-${id}`,
        redundancyType: 'TWO_IPS_REDUNDANCY',
        interfaces: outside.map((o, t) => ({ id: t, ipAddress: o })),
        selfLink: `${GCP}/global/externalVpnGateways/aws-${id}`,
      });
      for (const [t, o] of outside.entries()) {
        const name = `${id}-t${t}`;
        const selfLink = `${GCP}/regions/us-east4/vpnTunnels/${name}`;
        vpnTunnels.push({
          creationTimestamp: '2026-05-04T04:00:00.000-08:00',
          detailedStatus: 'Tunnel is up and running.',
          ikeVersion: 2,
          kind: 'compute#vpnTunnel',
          labelFingerprint: '42WmSpB8rSM=',
          localTrafficSelector: ['0.0.0.0/0'],
          name,
          peerExternalGateway: `${GCP}/global/externalVpnGateways/aws-${id}`,
          peerExternalGatewayInterface: t,
          peerIp: o,
          region: `${GCP}/regions/us-east4`,
          remoteTrafficSelector: ['0.0.0.0/0'],
          router: `${GCP}/regions/us-east4/routers/${router}`,
          selfLink,
          sharedSecret: '*************',
          status: 'ESTABLISHED',
          vpnGateway: `${GCP}/regions/us-east4/vpnGateways/ha-vpn-${p}`,
          vpnGatewayInterface: t,
        });
        peers.push({
          advertiseMode: 'DEFAULT',
          advertisedRoutePriority: 100,
          enable: drained ? 'FALSE' : 'TRUE',
          interfaceName: `if-${name}`,
          ipAddress: `169.254.${t}.2`,
          name: `bgp-${name}`,
          peerAsn: 64513,
          peerIpAddress: `169.254.${t}.1`,
        });
        interfaces.push({ ipRange: `169.254.${t}.2/30`, linkedVpnTunnel: selfLink, name: `if-${name}` });
        if (!drained)
          bestRoutes.push({
            destRange: awsPrefix,
            kind: 'compute#route',
            network,
            nextHopIp: `169.254.${t}.1`,
            nextHopVpnTunnel: selfLink,
            priority: 100,
            routeType: 'BGP',
          });
      }
      for (let h = 26; h > 0; h--)
        for (const metric of ['TunnelDataOut', 'TunnelDataIn'])
          traffic.push({
            vpnConnectionId: id,
            metric,
            start: iso(NOW - h * HOUR),
            end: iso(NOW - (h - 1) * HOUR),
            bytes: 2_000,
          });
    }
    routers.push({
      bgp: { advertiseMode: 'DEFAULT', asn: 65010, keepaliveInterval: 20 },
      bgpPeers: peers,
      interfaces,
      kind: 'compute#router',
      name: router,
      network,
      region: `${GCP}/regions/us-east4`,
      selfLink: `${GCP}/regions/us-east4/routers/${router}`,
    });
    routerStatus[router] = { kind: 'compute#routerStatusResponse', result: { network, bestRoutes } };
  }
  return {
    aws: { VpnConnections, CustomerGateways },
    gcp: { vpnTunnels, routers, routerStatus, externalVpnGateways },
    links: { links, drains: [], policy: { soak: '72h' } },
    metrics: { traffic },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'crosslink-bench-vpn-'));
  try {
    console.log(
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${cpus().length} cores; median of 3 fresh processes`,
    );
    console.log('  VPNs   input MB      wall s      CPU s   goal            actions');
    for (const count of [1_000, 10_000]) {
      const files = Object.entries(exports(count)).map(([k, v]) => {
        const f = join(dir, `${count}-${k}.json`);
        writeFileSync(f, JSON.stringify(v, null, 2));
        return [k, f] as const;
      });
      const mb = files.reduce((s, [, f]) => s + statSync(f).size, 0) / 1e6;
      const args = ['--import', CPU_PROBE, 'scripts/crosslink.ts', 'vpn', 'plan', '--json', '--at', iso(NOW)];
      for (const [k, f] of files) args.push(`--${k}`, f);
      const times: number[] = [];
      const cpu: number[] = [];
      let actions = '';
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 30 });
        times.push((performance.now() - t0) / 1000);
        if (r.status !== 0) throw new Error(`vpn plan exited ${r.status}: ${r.stderr.slice(0, 500)}`);
        cpu.push(Number(/cpu-ms (\d+)/.exec(r.stderr)?.[1]) / 1000);
        const t = (JSON.parse(r.stdout) as { totals: Record<string, number> }).totals;
        actions = `keep ${t.keep} drain ${t.drain} undrain ${t.undrain} delete ${t.delete}`;
      }
      const s = median(times);
      const goal = count === 10_000 ? `< 5 s: ${s < 5 ? 'met' : 'missed'}` : '-';
      console.log(
        `${String(count).padStart(6)}  ${mb.toFixed(1).padStart(9)}  ${s.toFixed(2).padStart(10)}  ${median(cpu).toFixed(2).padStart(9)}   ${goal.padEnd(14)}  ${actions}`,
      );
    }
    // The parse alone, both parsers, on the 1,000-VPN files.
    const texts = ['aws', 'gcp', 'links', 'metrics'].map((k) =>
      readFileSync(join(dir, `1000-${k}.json`), 'utf8'),
    );
    const time = (f: (t: string) => unknown) => {
      const t0 = performance.now();
      for (const t of texts) f(t);
      return performance.now() - t0;
    };
    const json = time(JSON.parse);
    const yaml = time((t) => parseDocument(t, { uniqueKeys: true }).toJS());
    console.log(
      `parse of the 1,000-VPN files: JSON.parse ${json.toFixed(0)} ms, YAML document parser ${yaml.toFixed(0)} ms (${(yaml / json).toFixed(0)}x)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
