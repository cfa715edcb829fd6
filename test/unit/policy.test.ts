import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ValidationError } from '#core/errors.ts';
import { fromMbps, parseBandwidth } from '#core/policy/bandwidth.ts';
import { canonicalHash, loadPolicy } from '#core/policy/policy.ts';
import { canonicalAwsPrincipal, matchesPrincipal } from '#core/policy/principals.ts';
import { type LinkRequest, parseLinkRequest } from '#core/policy/request.ts';
import { approverDecision, type EvaluationContext, evaluatePolicy, RULES } from '#core/policy/rules.ts';

const shipped = parse(readFileSync('config/policy.yaml', 'utf8'));
const policy = loadPolicy(shipped);
const ALICE = 'arn:aws:iam::000000000000:user/alice';

function request(over: Partial<LinkRequest> = {}): LinkRequest {
  return parseLinkRequest({
    name: 'payments-east',
    initiator: 'aws',
    bandwidth: '1Gbps',
    environment: 'prod',
    residency: 'US',
    aws: {
      accountId: '000000000000',
      region: 'us-east-1',
      directConnectGateway: '90392BE3-219C-47FD-BBA5-03DF76D2542A',
      routes: ['10.10.0.0/16'],
    },
    gcp: { project: 'payments-prod', region: 'us-east4', network: 'payments-vpc', routes: ['10.20.0.0/16'] },
    ...over,
  });
}

function decision(req: LinkRequest, rule: string, ctx: EvaluationContext = {}, p = policy) {
  const d = evaluatePolicy(p, req, ctx).decisions.find((x) => x.rule === rule);
  if (!d) throw new Error(`no decision for ${rule}`);
  return d;
}

describe('policy document', () => {
  it('loads the shipped policy, and its hash ignores YAML formatting and key order', () => {
    const reordered = Object.fromEntries(Object.entries(shipped).reverse());
    expect(policy.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(loadPolicy(reordered).hash).toBe(policy.hash);
    expect(loadPolicy({ ...shipped, bandwidths: ['1Gbps'] }).hash).not.toBe(policy.hash);
  });

  it('is the RFC 8785 canonical form that is hashed', () => {
    // RFC 8785 sorts keys and writes numbers in their shortest form.
    expect(canonicalHash({ b: 1, a: [1, 'x'] })).toBe(canonicalHash(JSON.parse('{"a":[1.0,"x"],"b":1}')));
  });

  it('names every problem in a broken policy', () => {
    const broken = {
      ...shipped,
      version: 2,
      bandwidths: ['fast'],
      environments: {
        ...shipped.environments,
        prod: { ...shipped.environments.prod, autoApprove: { maxBandwidth: '1Gbps' } },
      },
    };
    try {
      loadPolicy(broken);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      const paths = (e as ValidationError).issues.map((i) => i.path);
      expect(paths).toContain('version');
      expect(paths).toContain('bandwidths[0]');
    }
    expect(() =>
      loadPolicy({
        ...shipped,
        environments: {
          ...shipped.environments,
          prod: { ...shipped.environments.prod, autoApprove: { maxBandwidth: '1Gbps' } },
        },
      }),
    ).toThrow(/production links are never approved by policy alone/);
    expect(() =>
      loadPolicy({
        ...shipped,
        regionPairs: [{ aws: 'xx-north-1', gcp: 'us-east4' }],
      }),
    ).toThrow(/xx-north-1 has no country/);
    expect(() =>
      loadPolicy({
        ...shipped,
        regionPairs: [{ aws: 'us-east-1', gcp: 'us-east4', environmentId: 'mce-aws-gcp-iad' }],
      }),
    ).toThrow(/regionPairs\[0\]\.environmentId: is not a known field/);
    expect(() =>
      loadPolicy({
        ...shipped,
        regionPairs: [
          { aws: 'us-east-1', gcp: 'us-east4' },
          { aws: 'us-east-1', gcp: 'us-east4' },
        ],
      }),
    ).toThrow(/regionPairs\[1\]: us-east-1\/us-east4 is listed twice/);
    expect(() => loadPolicy({ ...shipped, regionPairs: [{ aws: 'useast1', gcp: 'us-east4' }] })).toThrow(
      /regionPairs\[0\]\.aws: must be an AWS region such as us-east-1/,
    );
  });
});

describe('link request shape', () => {
  it('accepts the example, refuses every bad field by path', () => {
    expect(request().name).toBe('payments-east');
    try {
      parseLinkRequest({
        name: 'x!',
        initiator: 'azure',
        bandwidth: 'BPS_0G',
        aws: { accountId: '1', region: 'us-east-1', directConnectGateway: 'x', routes: ['10.0.0.1/8'] },
      });
      expect.unreachable();
    } catch (e) {
      const issues = (e as ValidationError).issues.map((i) => `${i.path}: ${i.reason}`);
      expect(issues).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^name: must use only letters/),
          'initiator: must be one of "aws", "gcp"',
          'environment: is required',
          'gcp: is required',
          'aws.accountId: must be a 12-digit AWS account id',
          'aws.directConnectGateway: must be a Direct Connect gateway id (a UUID)',
          'aws.routes[0]: "10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?',
          'bandwidth: must be greater than zero',
        ]),
      );
    }
  });
});

describe('policy rules', () => {
  it('accepts the shipped example for alice with every rule passing', () => {
    const ev = evaluatePolicy(policy, request(), { requester: { principal: ALICE, side: 'aws' } });
    expect(ev.decisions.filter((d) => !d.ok)).toEqual([]);
    expect(ev.accepted).toBe(true);
    expect(ev.policyHash).toBe(policy.hash);
    expect(ev.regionPair).toEqual({ aws: 'us-east-1', gcp: 'us-east4' });
  });

  it('region-pair: only real pairs', () => {
    expect(decision(request({ gcp: { ...request().gcp, region: 'us-west1' } }), 'region-pair')).toMatchObject(
      { ok: false, message: 'us-east-1 pairs only with us-east4, not us-west1' },
    );
    expect(
      decision(request({ aws: { ...request().aws, region: 'sa-east-1' } }), 'region-pair').message,
    ).toMatch(/no link can be made from AWS sa-east-1/);
  });

  it('key-flow: the profile must allow the initiator to issue the key', () => {
    // Offline (no live profile) the rule defers to the request stage, which reads the live flow.
    expect(decision(request(), 'key-flow')).toMatchObject({
      ok: true,
      message: expect.stringMatching(/checked live at the request stage: the Google profile in us-east4/),
    });
    expect(decision(request(), 'key-flow', { live: { remoteProfileFlow: 'INPUT_ONLY' } }).ok).toBe(true);
    expect(decision(request(), 'key-flow', { live: { remoteProfileFlow: 'OUTPUT_ONLY' } })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/choose initiator gcp/),
    });
    expect(
      decision(request({ initiator: 'gcp' }), 'key-flow', { live: { remoteProfileFlow: 'OUTPUT_ONLY' } }).ok,
    ).toBe(true);
    expect(
      decision(request({ initiator: 'gcp' }), 'key-flow', { live: { remoteProfileFlow: 'INPUT_ONLY' } }).ok,
    ).toBe(false);
  });

  it('residency: EU means every endpoint in an EU member state, so London is not EU', () => {
    const frankfurt = request({
      residency: 'EU',
      aws: { ...request().aws, region: 'eu-central-1' },
      gcp: { ...request().gcp, region: 'europe-west3' },
    });
    const london = request({
      residency: 'EU',
      aws: { ...request().aws, region: 'eu-west-2' },
      gcp: { ...request().gcp, region: 'europe-west2' },
    });
    expect(decision(frankfurt, 'residency').ok).toBe(true);
    expect(decision(london, 'residency')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/GB and GB is not|GB is not/),
    });
    expect(decision({ ...london, residency: 'GB' }, 'residency').ok).toBe(true);
    expect(decision(request({ residency: 'SG' }), 'residency').ok).toBe(false);
    expect(decision(request({ residency: 'any' }), 'residency').ok).toBe(true);
  });

  it('routes: no overlap between sides, no default route unless allowed, no duplicates', () => {
    const overlap = request({ gcp: { ...request().gcp, routes: ['10.10.128.0/17'] } });
    expect(decision(overlap, 'routes.overlap')).toMatchObject({
      ok: false,
      message: 'AWS and Google prefixes overlap: 10.10.0.0/16 (aws) with 10.10.128.0/17 (gcp)',
    });
    const dflt = request({ gcp: { ...request().gcp, routes: ['0.0.0.0/0'] } });
    expect(decision(dflt, 'routes.default-route').ok).toBe(false);
    const allowing = loadPolicy({ ...shipped, routes: { allowDefaultRoute: true } });
    expect(decision(dflt, 'routes.default-route', {}, allowing).ok).toBe(true);
    const dup = request({ aws: { ...request().aws, routes: ['10.10.0.0/16', '10.10.0.0/16'] } });
    expect(decision(dup, 'routes.valid')).toMatchObject({
      ok: false,
      message: 'aws.routes lists 10.10.0.0/16 twice',
    });
    const v6 = request({
      aws: { ...request().aws, routes: ['2001:db8:1::/48'] },
      gcp: { ...request().gcp, routes: ['2001:db8::/32'] },
    });
    expect(decision(v6, 'routes.overlap').ok).toBe(false);
  });

  it('routes: no overlap with existing links and VPNs when an inventory is given', () => {
    const inventory = {
      links: [{ id: 'lk-other', aws: { routes: ['10.10.5.0/24'] } }],
      vpns: [{ name: 'vpn-east', prefixes: ['10.30.0.0/16'] }],
    };
    expect(decision(request(), 'routes.inventory', { inventory })).toMatchObject({
      ok: false,
      message: 'overlaps existing routes: 10.10.0.0/16 with 10.10.5.0/24 of link lk-other',
    });
    expect(decision(request(), 'routes.inventory', { inventory: { vpns: inventory.vpns } }).ok).toBe(true);
    expect(evaluatePolicy(policy, request()).decisions.some((d) => d.rule === 'routes.inventory')).toBe(
      false,
    );
  });

  it('bandwidth: both spellings, supported by both providers, and live availability', () => {
    expect(decision(request({ bandwidth: 'BPS_10G' }), 'bandwidth')).toMatchObject({
      ok: true,
      message: '10Gbps (Google BPS_10G) is supported by both providers',
    });
    expect(decision(request({ bandwidth: '3Gbps' }), 'bandwidth').ok).toBe(false);
    expect(decision(request(), 'bandwidth', { live: { availableBandwidths: ['10Gbps'] } }).message).toMatch(
      /not available now/,
    );
  });

  it('roles: who may request per environment', () => {
    expect(
      decision(request(), 'roles.requester', {
        requester: { principal: 'arn:aws:iam::000000000000:user/bob', side: 'aws' },
      }).ok,
    ).toBe(false);
    expect(
      decision(request({ environment: 'nonprod' }), 'roles.requester', {
        requester: { principal: 'arn:aws:iam::000000000000:user/bob', side: 'aws' },
      }).ok,
    ).toBe(true);
    expect(
      decision(request(), 'roles.requester', { requester: { principal: 'alice@example.com', side: 'gcp' } })
        .ok,
    ).toBe(true);
    // an email arriving at the AWS intake is not an AWS principal
    expect(
      decision(request(), 'roles.requester', { requester: { principal: 'alice@example.com', side: 'aws' } })
        .ok,
    ).toBe(false);
  });

  it('roles: approvers per side, never the requester (even as the same person on the other cloud)', () => {
    expect(approverDecision(policy, 'prod', 'aws', 'arn:aws:iam::000000000000:user/bob', ALICE).ok).toBe(
      true,
    );
    expect(approverDecision(policy, 'prod', 'gcp', 'arn:aws:iam::000000000000:user/bob', ALICE).ok).toBe(
      false,
    );
    expect(approverDecision(policy, 'prod', 'gcp', 'carol@example.com', ALICE).ok).toBe(true);
    const aliceApprover = loadPolicy({
      ...shipped,
      environments: {
        ...shipped.environments,
        prod: { ...shipped.environments.prod, approvers: { aws: [ALICE], gcp: ['alice@example.com'] } },
      },
    });
    expect(approverDecision(aliceApprover, 'prod', 'gcp', 'alice@example.com', ALICE)).toMatchObject({
      ok: false,
      message: 'alice@example.com requested this link and cannot approve it',
    });
  });

  it('auto-approval: nonprod under the cap only', () => {
    expect(evaluatePolicy(policy, request({ environment: 'nonprod' })).autoApproved).toBe(true);
    expect(
      evaluatePolicy(policy, request({ environment: 'nonprod', bandwidth: '10Gbps' })).autoApproved,
    ).toBe(false);
    expect(evaluatePolicy(policy, request()).autoApproved).toBe(false);
  });

  it('collects every failing decision, not just the first', () => {
    const bad = request({
      residency: 'EU',
      bandwidth: '3Gbps',
      gcp: { ...request().gcp, routes: ['10.10.0.0/16'] },
    });
    const ev = evaluatePolicy(policy, bad);
    expect(ev.accepted).toBe(false);
    expect(ev.decisions.filter((d) => !d.ok).map((d) => d.rule)).toEqual([
      'residency',
      'routes.overlap',
      'bandwidth',
    ]);
  });
});

describe('bandwidths and principals', () => {
  it('normalise between AWS and Google spellings', () => {
    expect(parseBandwidth('1Gbps')).toEqual({ mbps: 1000, aws: '1Gbps', gcp: 'BPS_1G' });
    expect(parseBandwidth('BPS_500M')).toEqual({ mbps: 500, aws: '500Mbps', gcp: 'BPS_500M' });
    expect(parseBandwidth('1000Mbps')?.gcp).toBe('BPS_1G');
    expect(parseBandwidth('1 Gbps')).toBeUndefined();
    expect(fromMbps(100_000).aws).toBe('100Gbps');
  });

  it('match ARN patterns and assumed-role sessions', () => {
    expect(matchesPrincipal('arn:aws:iam::000000000000:user/*', 'arn:aws:iam::000000000000:user/bob')).toBe(
      true,
    );
    expect(matchesPrincipal('arn:aws:iam::000000000000:user/*', 'arn:aws:iam::111111111111:user/bob')).toBe(
      false,
    );
    expect(matchesPrincipal('*@example.com', 'x@example.com')).toBe(true);
    expect(matchesPrincipal('*@example.com', 'x@example.com.evil')).toBe(false);
    expect(canonicalAwsPrincipal('arn:aws:sts::000000000000:assumed-role/netops/bob')).toBe(
      'arn:aws:iam::000000000000:role/netops',
    );
  });
});

/** The first-column names of the table under the README's "## Policy" heading. */
function readmeRuleNames(readme: string): string[] {
  const section = readme.split(/^## Policy$/m)[1]?.split(/^## /m)[0];
  if (section === undefined) throw new Error('README has no "## Policy" section');
  return section.split('\n').flatMap((line) => /^\|\s*`([^`]+)`\s*\|/.exec(line)?.[1] ?? []);
}

describe('the RULES list', () => {
  it('is what the README policy table lists, by name and in order', () => {
    const names = readmeRuleNames(readFileSync('README.md', 'utf8'));
    expect(names.length).toBeGreaterThan(0);
    expect(names).toEqual(RULES.map((r) => r.name));
    expect(new Set(names).size).toBe(names.length);
  });

  it('gives one decision per applicable rule, in RULES order', () => {
    const full = evaluatePolicy(policy, request(), {
      requester: { principal: ALICE, side: 'aws' },
      inventory: { links: [], vpns: [] },
      live: { remoteProfileFlow: 'INPUT_OR_OUTPUT', environmentState: 'limited' },
    });
    expect(full.decisions.map((d) => d.rule)).toEqual(RULES.map((r) => r.name));
    const optional = ['routes.inventory', 'capacity', 'roles.requester'];
    expect(evaluatePolicy(policy, request()).decisions.map((d) => d.rule)).toEqual(
      RULES.map((r) => r.name).filter((n) => !optional.includes(n)),
    );
  });

  it('capacity: limited passes and is reported, unavailable refuses, available says nothing', () => {
    const capacity = (environmentState: 'available' | 'limited' | 'unavailable') =>
      evaluatePolicy(policy, request(), { live: { environmentState } }).decisions.filter(
        (d) => d.rule === 'capacity',
      );
    expect(capacity('limited')).toEqual([
      { rule: 'capacity', ok: true, message: 'the AWS environment is limited' },
    ]);
    expect(capacity('unavailable')).toEqual([
      { rule: 'capacity', ok: false, message: 'the AWS environment is unavailable' },
    ]);
    expect(capacity('available')).toEqual([]);
    expect(evaluatePolicy(policy, request(), { live: { environmentState: 'unavailable' } }).accepted).toBe(
      false,
    );
  });
});
