/**
 * The AWS VPNs of every region of the policy (docs/vpn-planner.md "Regions"): the export's format
 * (a single-region export names its region once, a multi-region one each VPN's, with the regions
 * read and those that did not answer), the inventory joining each region's read with its own
 * clients, and the AWS half acting only in a policy region its command names.
 */
import type { DirectConnectClient } from '@aws-sdk/client-direct-connect';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { ec2For } from '#aws/vpn-half.ts';
import { readAwsExports } from '#aws/vpn-inventory.ts';
import { ValidationError } from '#core/errors.ts';
import { parseVpnHalfCommand, type VpnHalfCommand } from '#core/vpn/half.ts';
import { importAwsExport } from '#core/vpn/import-aws.ts';

const vpn = (id: string, extra: object = {}) => ({
  VpnConnectionId: id,
  State: 'available',
  CustomerGatewayId: `cgw-${id.slice(4)}`,
  VpnGatewayId: 'vgw-0aaaaaaaaaaaaaaa1',
  ...extra,
});

function issuesOf(f: () => unknown) {
  try {
    f();
  } catch (e) {
    if (e instanceof ValidationError) return e.issues;
    throw e;
  }
  throw new Error('not refused');
}

describe('the AWS export’s regions', () => {
  it('gives every VPN of a single-region export its top-level Region', () => {
    // Act
    const out = importAwsExport({
      Region: 'us-west-2',
      VpnConnections: [vpn('vpn-0aaaaaaaa'), vpn('vpn-0bbbbbbbb')],
    });
    // Assess
    expect(out.vpnConnections.map((v) => v.region)).toEqual(['us-west-2', 'us-west-2']);
    expect(out.regions).toEqual(['us-west-2']);
    expect(out.missingRegions).toEqual([]);
  });

  it('reads each VPN’s own Region, the regions read and those that did not answer', () => {
    // Act
    const out = importAwsExport({
      VpnConnections: [
        vpn('vpn-0aaaaaaaa', { Region: 'eu-central-1' }),
        vpn('vpn-0bbbbbbbb', { Region: 'us-east-1' }),
      ],
      Regions: ['us-east-1', 'eu-central-1'],
      RegionsMissing: [{ Region: 'us-west-2', Reason: 'ServiceUnavailable: region out' }],
    });
    // Assess
    expect(out.vpnConnections.map((v) => [v.vpnConnectionId, v.region])).toEqual([
      ['vpn-0aaaaaaaa', 'eu-central-1'],
      ['vpn-0bbbbbbbb', 'us-east-1'],
    ]);
    expect(out.regions).toEqual(['eu-central-1', 'us-east-1']);
    expect(out.missingRegions).toEqual([{ region: 'us-west-2', reason: 'ServiceUnavailable: region out' }]);
  });

  it('leaves a VPN’s region unknown when the export does not say it (a plan from files still reads)', () => {
    expect(importAwsExport({ VpnConnections: [vpn('vpn-0aaaaaaaa')] }).vpnConnections[0]?.region).toBe(
      undefined,
    );
  });

  it('refuses a region that is not one, or a VPN of another region than its export’s, naming the field', () => {
    // Act
    const issues = issuesOf(() =>
      importAwsExport({
        Region: 'us-west-2',
        VpnConnections: [
          vpn('vpn-0aaaaaaaa', { Region: 'us-east-1' }),
          vpn('vpn-0bbbbbbbb', { Region: 'west' }),
        ],
        RegionsMissing: [{ Region: 'us-east-1' }],
      }),
    );
    // Assess
    expect(issues).toEqual([
      { path: 'RegionsMissing[0].Reason', reason: 'expected a non-empty string, got nothing' },
      {
        path: 'VpnConnections[0].Region',
        reason: 'is us-east-1 in an export of us-west-2 (top-level Region)',
      },
      { path: 'VpnConnections[1].Region', reason: 'must be an AWS region such as us-east-1, got "west"' },
    ]);
  });
});

/** EC2 of one region as the SDK answers: its VPNs, nothing else; or a region that does not answer. */
function fakeRegion(vpns: object[] | Error) {
  const ec2 = {
    send: async (cmd: object) => {
      if (vpns instanceof Error) throw vpns;
      return cmd.constructor.name === 'DescribeVpnConnectionsCommand' ? { VpnConnections: vpns } : {};
    },
  } as unknown as EC2Client;
  const dx = {
    send: async (cmd: { input: { associatedGatewayId: string } }) => ({
      directConnectGatewayAssociations: [{ associatedGateway: { id: cmd.input.associatedGatewayId } }],
    }),
  } as unknown as DirectConnectClient;
  return { ec2, dx };
}

describe("the inventory's read of every region", () => {
  it('reads each region with its own clients, each VPN marked with its region', async () => {
    // Arrange
    const regions = {
      'us-east-1': fakeRegion([vpn('vpn-0aaaaaaaa')]),
      'us-west-2': fakeRegion([vpn('vpn-0bbbbbbbb', { VpnGatewayId: 'vgw-0bbbbbbbbbbbbbbb2' })]),
    };
    // Act
    const exp = await readAwsExports(['us-east-1', 'us-west-2'], (r) => regions[r as keyof typeof regions]);
    // Assess
    expect(exp.VpnConnections).toEqual([
      { ...vpn('vpn-0aaaaaaaa'), Region: 'us-east-1' },
      { ...vpn('vpn-0bbbbbbbb', { VpnGatewayId: 'vgw-0bbbbbbbbbbbbbbb2' }), Region: 'us-west-2' },
    ]);
    expect(exp.DirectConnectGatewayAssociations).toEqual([
      { associatedGateway: { id: 'vgw-0aaaaaaaaaaaaaaa1' } },
      { associatedGateway: { id: 'vgw-0bbbbbbbbbbbbbbb2' } },
    ]);
    expect(exp.Regions).toEqual(['us-east-1', 'us-west-2']);
    expect(exp.RegionsMissing).toEqual([]);
    expect(importAwsExport(exp).vpnConnections.map((v) => v.region)).toEqual(['us-east-1', 'us-west-2']);
  });

  it('names a region that does not answer, without its VPNs; every region failing fails the read', async () => {
    // Arrange
    const out = Object.assign(new Error('connect ECONNREFUSED'), { name: 'ServiceUnavailable' });
    const regions = { 'us-east-1': fakeRegion([vpn('vpn-0aaaaaaaa')]), 'us-west-2': fakeRegion(out) };
    // Act
    const exp = await readAwsExports(['us-east-1', 'us-west-2'], (r) => regions[r as keyof typeof regions]);
    // Assess
    expect(exp.Regions).toEqual(['us-east-1']);
    expect(exp.RegionsMissing).toEqual([
      { Region: 'us-west-2', Reason: 'ServiceUnavailable: connect ECONNREFUSED' },
    ]);
    expect((exp.VpnConnections as object[]).length).toBe(1);
    await expect(readAwsExports(['us-west-2'], () => fakeRegion(out))).rejects.toThrow(
      'connect ECONNREFUSED',
    );
  });
});

describe("the AWS half's region", () => {
  const command = (data: object): VpnHalfCommand =>
    parseVpnHalfCommand('drain', {
      runId: 'vpn-dev-20261120T120000Z',
      vpnId: 'vpn-0aaaaaaaa',
      requestedBy: 'planner',
      requestedAt: '2026-11-20T12:00:00.000Z',
      ...data,
    });
  const clients = new Map<string, EC2Client>();
  const deps = {
    origin: { cloud: 'aws' as const, accountId: '111111111111', region: 'us-east-1' },
    regions: ['us-east-1', 'us-west-2'],
    ec2: (r: string) => {
      const c = clients.get(r) ?? ({ region: r } as unknown as EC2Client);
      clients.set(r, c);
      return c;
    },
  };

  it("acts through the command's region's client", () => {
    expect(ec2For(deps, command({ awsRegion: 'us-west-2' }))).toBe(clients.get('us-west-2'));
    expect(clients.has('us-east-1')).toBe(false);
  });

  it('acts in its own region on a command that names none (one recorded before commands named their region)', () => {
    expect(ec2For(deps, command({}))).toBe(clients.get('us-east-1'));
  });

  it('refuses a command naming a region outside the policy, naming the field', () => {
    expect(() => ec2For(deps, command({ awsRegion: 'eu-west-1' }))).toThrow(
      /awsRegion: eu-west-1 is not an AWS region of the policy \(us-east-1, us-west-2\)/,
    );
    expect(() => command({ awsRegion: 'mars' })).toThrow(/awsRegion: must be an AWS region, got "mars"/);
  });
});
