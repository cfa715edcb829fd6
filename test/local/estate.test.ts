/**
 * The estate (config/local-estate.yaml, local/estate.ts): every problem named by its field; the
 * Google side as local IAM settings and CROSSLINK_NETWORK_PROJECTS; the AWS side seeded into a
 * running local cloud (the Direct Connect gateway associated, its allowed prefixes the VPC's CIDRs).
 */
import { describe, expect, it } from 'vitest';
import { applyEstateSettings, checkEstate, EstateError, loadEstate } from '#local/estate.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';

const NET_SA = 'crosslink-net@payments-prod.iam.gserviceaccount.com';

describe('checkEstate', () => {
  it('accepts the shipped estate', () => {
    const e = loadEstate();
    expect(e.aws.directConnectGateways.map((g) => `${g.region} ${g.id}`)).toEqual([
      'us-east-1 90392BE3-219C-47FD-BBA5-03DF76D2542A',
      'us-west-2 5B2E8C41-7D3A-4F6B-9E10-2C4D6A8B0F13',
      'eu-central-1 8E4A1C27-3B5D-4A9F-B6C2-7D1E3F5A9B24',
    ]);
    expect(e.gcp.networkProjects.map((n) => n.project)).toEqual(['payments-prod']);
  });

  it('names every bad field and why', () => {
    const bad = {
      version: 2,
      aws: {
        directConnectGateways: [
          { accountId: 12, region: 'nowhere', id: 'gw', name: '', vpcCidrs: ['10.0.0.1/8'] },
        ],
      },
      gcp: {
        networkProjects: [
          { project: 'Payments', serviceAccount: 'someone@example.com', impersonators: ['X'] },
          { project: 'payments-prod', serviceAccount: NET_SA, impersonators: [] },
          { project: 'payments-prod', serviceAccount: NET_SA, impersonators: [] },
        ],
      },
    };
    let error: unknown;
    try {
      checkEstate(bad, 'estate.yaml');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EstateError);
    const message = (error as Error).message;
    for (const field of [
      'version: must be 1',
      'aws.directConnectGateways[0].accountId',
      'aws.directConnectGateways[0].region',
      'aws.directConnectGateways[0].id: must be a UUID',
      'aws.directConnectGateways[0].name: is required',
      'aws.directConnectGateways[0].vpcCidrs[0]',
      'gcp.networkProjects[0].project',
      'gcp.networkProjects[0].serviceAccount',
      'gcp.networkProjects[0].impersonators[0]',
      'gcp.networkProjects[2].project: payments-prod is listed twice',
    ])
      expect(message).toContain(field);
    expect(message.startsWith('estate.yaml: ')).toBe(true);
  });
});

describe('applyEstateSettings', () => {
  it("limits the network project's TransportManager to its account and lets the hub identities impersonate it", () => {
    const settings: Record<string, unknown> = {
      iamcredentials: {
        bindings: [{ member: 'a@x.iam.gserviceaccount.com', serviceAccount: 'b@x.iam.gserviceaccount.com' }],
      },
    };
    const env = applyEstateSettings(loadEstate(), settings, 'crosslink-local');
    expect(JSON.parse(env.CROSSLINK_NETWORK_PROJECTS as string)).toEqual({ 'payments-prod': NET_SA });
    expect(settings.networkconnectivity).toEqual({ members: { 'payments-prod': [NET_SA] } });
    const bindings = (settings.iamcredentials as { bindings: { member: string; serviceAccount: string }[] })
      .bindings;
    expect(bindings[0]).toEqual({
      member: 'a@x.iam.gserviceaccount.com',
      serviceAccount: 'b@x.iam.gserviceaccount.com',
    });
    expect(bindings.slice(1)).toContainEqual({
      member: 'crosslink-steps@crosslink-local.iam.gserviceaccount.com',
      serviceAccount: NET_SA,
    });
  });

  it('changes nothing without network projects', () => {
    const settings: Record<string, unknown> = {};
    expect(
      applyEstateSettings(
        { aws: { directConnectGateways: [] }, gcp: { networkProjects: [] } },
        settings,
        'p',
      ),
    ).toEqual({});
    expect(settings).toEqual({});
  });
});

describe('a local cloud started with the estate', () => {
  it('holds the Direct Connect gateways, associated, allowing the VPC CIDRs of their regions', async () => {
    const cloud = await startTestCloud({ estate: loadEstate() });
    try {
      const { associations } = await admin(cloud, 'POST', '/aws/directconnect/associations', {
        accountId: '000000000000',
      });
      expect(associations).toEqual([
        expect.objectContaining({
          directConnectGatewayId: '90392BE3-219C-47FD-BBA5-03DF76D2542A',
          associationState: 'associated',
          advertised: ['10.10.0.0/16', '10.11.0.0/16'],
        }),
        expect.objectContaining({
          directConnectGatewayId: '5B2E8C41-7D3A-4F6B-9E10-2C4D6A8B0F13',
          associationState: 'associated',
          advertised: ['10.30.0.0/16'],
        }),
        expect.objectContaining({
          directConnectGatewayId: '8E4A1C27-3B5D-4A9F-B6C2-7D1E3F5A9B24',
          associationState: 'associated',
          advertised: ['10.40.0.0/16'],
        }),
      ]);
      expect(cloud.gcp.auth.accounts.has(NET_SA)).toBe(true);
    } finally {
      await cloud.stop();
    }
  });
});
