import { describe, expect, it } from 'vitest';
import { loadGcpConfig } from '#deployment/gcp-config.ts';
import { substituteAwsPublishers } from '#deployment/gcp-config-substitute.ts';
import { ConditionError, evaluateAttributeCondition } from '#local/gcp/iam/attribute-condition.ts';
import { configPolicy, identityBindings } from '#local/gcp/iam/grants.ts';
import { GcpIam, ORGANIZATION, predefinedRoles, principalsOf } from '#local/gcp/iam/policy.ts';
import type { Caller } from '#local/gcp/service.ts';
import { assertionArn, defaultAwsAttributes } from '#local/gcp/services/sts.ts';

const P = 'hub';
const PN = '100000000001';
const sa = (id: string): Caller => ({
  email: `${id}@${P}.iam.gserviceaccount.com`,
  kind: 'service-account',
  identity: undefined,
  scopes: [],
});
const RELAY_ROLE = 'arn:aws:iam::123456789012:role/crosslink-relay-to-google-dev';

function hubIam(): GcpIam {
  const config = substituteAwsPublishers(loadGcpConfig('gcp.yml'), {
    CROSSLINK_AWS_RELAY_ROLE_ARN: RELAY_ROLE,
  });
  const policy = configPolicy(config, P, PN, 'us-east4');
  const iam = new GcpIam({ projectNumber: (p) => (p === P ? PN : '999') });
  iam.setCustomRoles(policy.customRoles);
  iam.setBindings('gcp.yml', policy.bindings);
  return iam;
}

const allowed = (iam: GcpIam, caller: Caller, permission: string, resource: string) =>
  iam.decide(principalsOf(caller), permission, resource).allowed;

describe('local Google IAM: gcp.yml grants where deploy-gcp makes them', () => {
  it('lets the steps account use the activation-key secrets only under the crosslink-lk- condition', () => {
    const iam = hubIam();
    const steps = sa('crosslink-steps');
    expect(allowed(iam, steps, 'secretmanager.secrets.create', `projects/${P}`)).toBe(true);
    expect(
      allowed(
        iam,
        steps,
        'secretmanager.versions.access',
        `projects/${P}/secrets/crosslink-lk-1/versions/latest`,
      ),
    ).toBe(true);
    expect(
      allowed(iam, steps, 'secretmanager.versions.access', `projects/${P}/secrets/other/versions/latest`),
    ).toBe(false);
    expect(
      allowed(
        iam,
        sa('crosslink-intake'),
        'secretmanager.versions.access',
        `projects/${P}/secrets/crosslink-lk-1/versions/1`,
      ),
    ).toBe(false);
  });

  it('grants KMS decryption on the one key and nowhere else', () => {
    const iam = hubIam();
    const key = `projects/${P}/locations/us-east4/keyRings/crosslink/cryptoKeys/activation`;
    expect(
      allowed(
        iam,
        sa('crosslink-steps'),
        'cloudkms.cryptoKeyVersions.useToDecrypt',
        `${key}/cryptoKeyVersions/1`,
      ),
    ).toBe(true);
    expect(
      allowed(
        iam,
        sa('crosslink-steps'),
        'cloudkms.cryptoKeyVersions.useToDecrypt',
        `${key}-other/cryptoKeyVersions/1`,
      ),
    ).toBe(false);
    expect(
      allowed(
        iam,
        sa('crosslink-events'),
        'cloudkms.cryptoKeyVersions.useToDecrypt',
        `${key}/cryptoKeyVersions/1`,
      ),
    ).toBe(false);
  });

  it('lets only the relay role principal set publish on crosslink-peer-events', () => {
    const iam = hubIam();
    const topic = `projects/${P}/topics/crosslink-peer-events`;
    const pool = `iam.googleapis.com/projects/${PN}/locations/global/workloadIdentityPools/crosslink-aws`;
    const relay: Caller = {
      email: `principal://${pool}/subject/arn:aws:sts::123456789012:assumed-role/crosslink-relay-to-google-dev/s1`,
      kind: 'federated',
      identity: undefined,
      scopes: [],
      attributes: { aws_role: 'arn:aws:sts::123456789012:assumed-role/crosslink-relay-to-google-dev' },
    };
    expect(allowed(iam, relay, 'pubsub.topics.publish', topic)).toBe(true);
    expect(
      allowed(
        iam,
        { ...relay, attributes: { aws_role: 'arn:aws:sts::123456789012:assumed-role/other' } },
        'pubsub.topics.publish',
        topic,
      ),
    ).toBe(false);
    for (const id of ['crosslink-intake', 'crosslink-steps', 'crosslink-events', 'crosslink-watcher'])
      expect(allowed(iam, sa(id), 'pubsub.topics.publish', topic)).toBe(false);
    expect(
      allowed(iam, sa('crosslink-events'), 'pubsub.topics.publish', `projects/${P}/topics/crosslink-events`),
    ).toBe(true);
  });

  it('refuses with the 403 Google sends, and records what was allowed', () => {
    const iam = hubIam();
    iam.check(
      sa('crosslink-watcher'),
      'networkconnectivity.transports.list',
      `projects/${P}/locations/us-east4`,
      'x',
    );
    expect(() =>
      iam.check(
        sa('crosslink-watcher'),
        'networkconnectivity.transports.delete',
        `projects/${P}/locations/us-east4/transports/t`,
        'networkconnectivity.googleapis.com',
      ),
    ).toThrow(
      expect.objectContaining({
        status: 'PERMISSION_DENIED',
        code: 403,
        message: `Permission 'networkconnectivity.transports.delete' denied on resource 'projects/${P}/locations/us-east4/transports/t' (or it may not exist).`,
      }),
    );
    expect([
      ...(iam.used().get(`serviceAccount:crosslink-watcher@${P}.iam.gserviceaccount.com`)?.keys() ?? []),
    ]).toEqual(['networkconnectivity.transports.list']);
    expect(iam.refused()).toHaveLength(1);
  });

  it('allows everything but records it when not enforcing', () => {
    const iam = hubIam();
    iam.enforce = false;
    expect(() =>
      iam.check(sa('crosslink-pusher'), 'secretmanager.versions.access', `projects/${P}/secrets/x`, 'x'),
    ).not.toThrow();
    expect(
      iam
        .used()
        .get(`serviceAccount:crosslink-pusher@${P}.iam.gserviceaccount.com`)
        ?.get('secretmanager.versions.access'),
    ).toBe(1);
  });

  it('gives identities their roles on the organisation, and knows every role gcp.yml and the identities use', () => {
    const iam = hubIam();
    iam.setBindings(
      'ids',
      identityBindings([
        { name: 'admin', gcp: { email: 'admin@x.iam.gserviceaccount.com', roles: ['roles/owner'] } },
        { name: 'carol', gcp: { email: 'carol@example.com' } },
      ]),
    );
    expect(iam.bindings().find((b) => b.source === 'ids')).toMatchObject({
      resource: ORGANIZATION,
      members: ['serviceAccount:admin@x.iam.gserviceaccount.com'],
    });
    const admin: Caller = {
      email: 'admin@x.iam.gserviceaccount.com',
      kind: 'service-account',
      identity: 'admin',
      scopes: [],
    };
    const carol: Caller = {
      email: 'carol@example.com',
      kind: 'service-account',
      identity: 'carol',
      scopes: [],
    };
    expect(
      allowed(iam, admin, 'networkconnectivity.transports.delete', 'projects/any/locations/l/transports/t'),
    ).toBe(true);
    expect(
      allowed(iam, carol, 'networkconnectivity.transports.delete', 'projects/any/locations/l/transports/t'),
    ).toBe(false);
    expect(iam.unknownRoles()).toEqual([]);
    for (const [role, data] of Object.entries(predefinedRoles())) {
      expect(data.source, role).toMatch(/^https:\/\/cloud\.google\.com\//);
      expect(data.permissions.length, role).toBeGreaterThan(0);
    }
  });
});

describe('workload identity federation: mapping and attribute condition', () => {
  it("maps as Google's default AWS mapping does, the session name stripped", () => {
    const arn = assertionArn({ arn: 'arn:aws:iam::123456789012:role/relay', name: 'crosslink' });
    expect(arn).toBe('arn:aws:sts::123456789012:assumed-role/relay/crosslink');
    expect(defaultAwsAttributes(arn)).toEqual({
      'google.subject': arn,
      'attribute.aws_role': 'arn:aws:sts::123456789012:assumed-role/relay',
    });
    expect(defaultAwsAttributes('arn:aws:iam::123456789012:user/bob')['attribute.aws_role']).toBe(
      'arn:aws:iam::123456789012:user/bob',
    );
  });

  it('evaluates the CEL subset and refuses what it cannot read', () => {
    const vars = {
      assertion: { arn: 'arn:aws:sts::1:assumed-role/r/s' },
      'attribute.aws_role': 'arn:aws:sts::1:assumed-role/r',
    };
    expect(evaluateAttributeCondition("attribute.aws_role == 'arn:aws:sts::1:assumed-role/r'", vars)).toBe(
      true,
    );
    expect(evaluateAttributeCondition("attribute.aws_role == 'arn:aws:sts::1:assumed-role/x'", vars)).toBe(
      false,
    );
    expect(
      evaluateAttributeCondition(
        "attribute.aws_role == 'x' || assertion.arn.startsWith('arn:aws:sts::1:')",
        vars,
      ),
    ).toBe(true);
    expect(evaluateAttributeCondition("(attribute.aws_role != 'x') && assertion.arn == 'nope'", vars)).toBe(
      false,
    );
    // An attribute the mapping did not produce makes the condition fail, whatever the operator.
    expect(evaluateAttributeCondition("attribute.team != 'x'", vars)).toBe(false);
    expect(evaluateAttributeCondition("attribute.team.startsWith('')", vars)).toBe(false);
    // The form bootstrap writes for several relay roles of one account.
    expect(
      evaluateAttributeCondition("attribute.aws_role in ['x', 'arn:aws:sts::1:assumed-role/r']", vars),
    ).toBe(true);
    expect(evaluateAttributeCondition("attribute.aws_role in ['x']", vars)).toBe(false);
    expect(evaluateAttributeCondition("attribute.team in ['x']", vars)).toBe(false);
    expect(() => evaluateAttributeCondition("attribute.aws_role in ['x'", vars)).toThrow(ConditionError);
    expect(() => evaluateAttributeCondition("attribute.aws_role in 'x'", vars)).toThrow(ConditionError);
    expect(() => evaluateAttributeCondition('request.time > 0', vars)).toThrow(ConditionError);
  });
});
