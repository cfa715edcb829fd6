import { describe, expect, it } from 'vitest';
import { type CloudWatchAccess, readAwsTrafficByRegion } from '#aws/vpn-traffic.ts';

/** A CloudWatch read per region: one sample per VPN, or the region's failure. */
function reader(failing: ReadonlySet<string>) {
  const asked: string[] = [];
  const read = async (access: CloudWatchAccess, ids: readonly string[]) => {
    asked.push(access.region);
    if (failing.has(access.region)) throw new Error(`CloudWatch in ${access.region} did not answer`);
    return { traffic: ids.map((id) => ({ vpnId: id, region: access.region })) };
  };
  return { read, asked };
}

const VPNS = [
  { vpnConnectionId: 'vpn-0aaaaaaaa', region: 'us-west-2' },
  { vpnConnectionId: 'vpn-0bbbbbbbb', region: 'us-east-1' },
  { vpnConnectionId: 'vpn-0cccccccc', region: 'us-west-2' },
];

describe("the drained VPNs' traffic read in each VPN's region", () => {
  it('reads each region once, with its own VPNs', async () => {
    const { read, asked } = reader(new Set());
    const out = await readAwsTrafficByRegion({}, VPNS, 0, 3_600_000, read);
    expect(asked).toEqual(['us-east-1', 'us-west-2']);
    expect(out.traffic).toEqual([
      { vpnId: 'vpn-0bbbbbbbb', region: 'us-east-1' },
      { vpnId: 'vpn-0aaaaaaaa', region: 'us-west-2' },
      { vpnId: 'vpn-0cccccccc', region: 'us-west-2' },
    ]);
  });

  it('gives no samples for a region that fails and still reads the others', async () => {
    const { read, asked } = reader(new Set(['us-east-1']));
    const out = await readAwsTrafficByRegion({}, VPNS, 0, 3_600_000, read);
    expect(asked).toEqual(['us-east-1', 'us-west-2']);
    expect(out.traffic.map((t) => (t as { vpnId: string }).vpnId)).toEqual([
      'vpn-0aaaaaaaa',
      'vpn-0cccccccc',
    ]);
  });

  it("fails when every region fails, with the first region's error", async () => {
    const { read } = reader(new Set(['us-east-1', 'us-west-2']));
    await expect(readAwsTrafficByRegion({}, VPNS, 0, 3_600_000, read)).rejects.toThrow(
      'CloudWatch in us-east-1 did not answer',
    );
  });
});
