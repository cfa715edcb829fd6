import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors.ts';
import type { LinksFile } from '#core/vpn/import-state.ts';
import { resolveNetworkRefs } from '#core/vpn/network-refs.ts';
import { DEFAULT_POLICY } from '#core/vpn/policy.ts';
import { link } from './builders.ts';

const known = {
  aws: ['vgw-0aaaaaaaaaaaaaaa1'],
  gcp: [
    'projects/acme/global/networks/prod',
    'projects/other/global/networks/shared',
    'projects/acme/global/networks/shared',
  ],
};
const file = (o: Partial<LinksFile>): LinksFile => ({ links: [], drains: [], policy: DEFAULT_POLICY, ...o });
const issues = (f: LinksFile) => {
  try {
    resolveNetworkRefs(f, known);
    return [];
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return e.issues.map((i) => `${i.path}: ${i.reason}`);
  }
};

describe('resolveNetworkRefs', () => {
  it('gives a link its network and gateway in the exports form, from a name, a path, a URL or an ARN', () => {
    // Prepare
    const links = [
      link({ id: 'lk-1', gcp: 'prod' }),
      link({
        id: 'lk-2',
        gcp: 'https://compute.googleapis.com/compute/v1/projects/acme/global/networks/prod',
      }),
      link({ id: 'lk-3', aws: 'arn:aws:ec2:us-east-1:123456789012:vpn-gateway/vgw-0aaaaaaaaaaaaaaa1' }),
    ];
    // Act
    const out = resolveNetworkRefs(file({ links }), known);
    // Assess
    expect(out.links.map((l) => [l.gcp.network, l.aws.gateway])).toEqual([
      ['projects/acme/global/networks/prod', 'vgw-0aaaaaaaaaaaaaaa1'],
      ['projects/acme/global/networks/prod', 'vgw-0aaaaaaaaaaaaaaa1'],
      ['projects/acme/global/networks/prod', 'vgw-0aaaaaaaaaaaaaaa1'],
    ]);
  });

  it('refuses a name of two projects, a name of nothing, and a backup rule for networks nothing holds', () => {
    // Prepare
    const policy = {
      ...DEFAULT_POLICY,
      backup: [
        { aws: 'vgw-0bbbbbbbbbbbbbbb2', gcp: 'projects/acme/global/networks/gone', minVpns: 1 },
        { aws: undefined, gcp: 'prod', minVpns: 1 },
      ],
    };
    // Act
    const found = issues(
      file({ links: [link({ id: 'lk-1', gcp: 'shared' }), link({ id: 'lk-2', gcp: 'nope' })], policy }),
    );
    // Assess
    expect(found).toEqual([
      'links[0].gcp.network: network "shared" is ambiguous: projects/acme/global/networks/shared, projects/other/global/networks/shared; give the full path',
      'links[1].gcp.network: network "nope" matches no Google network in the exports or the links; give projects/<project>/global/networks/nope',
      "policy.backup[0].aws: gateway vgw-0bbbbbbbbbbbbbbb2 matches no VPN's gateway in the AWS export nor any link's gatewayId",
      "policy.backup[0].gcp: network projects/acme/global/networks/gone matches no router network in the Google export nor any link's network",
    ]);
  });
});
