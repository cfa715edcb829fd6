/**
 * The Condition element and the policy grammar, after the IAM User Guide's "IAM JSON policy
 * elements: Condition operators" and "Condition keys with multiple values" (each case names the
 * section), plus the documents IAM refuses.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables (${aws:username}) are literal policy text here.
import { describe, expect, it } from 'vitest';
import { type Caller, evaluate } from '#local/aws/iam/evaluate.ts';
import { contextOf } from '#local/aws/iam/match.ts';
import { PolicyError, parsePolicy } from '#local/aws/iam/policy.ts';

const caller: Caller = { arn: 'arn:aws:iam::123456789012:user/alice', accountId: '123456789012' };

/** Allow `s3:GetObject` on `*` under one Condition block; the decision for the given context. */
function decide(condition: unknown, context: Record<string, string | boolean | string[]> = {}) {
  const policy = parsePolicy(
    {
      Version: '2012-10-17',
      Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: condition },
    },
    'p',
    'identity',
  );
  return evaluate({
    caller,
    action: 's3:GetObject',
    resource: '*',
    identityPolicies: [policy],
    context: contextOf(context),
  }).decision;
}

describe('Condition operators: String', () => {
  it('StringEquals aws:PrincipalTag/job-category is exact and case-sensitive', () => {
    const c = { StringEquals: { 'aws:PrincipalTag/job-category': 'iamuser-admin' } };
    expect(decide(c, { 'aws:PrincipalTag/job-category': 'iamuser-admin' })).toBe('Allow');
    expect(decide(c, { 'aws:PrincipalTag/job-category': 'IAMUSER-ADMIN' })).toBe('ImplicitDeny');
    expect(decide(c)).toBe('ImplicitDeny');
  });
  it('condition key names are case-insensitive', () => {
    expect(
      decide(
        { StringEquals: { 'AWS:principaltag/Job-Category': 'x' } },
        { 'aws:PrincipalTag/job-category': 'x' },
      ),
    ).toBe('Allow');
  });
  it('StringEqualsIgnoreCase ignores case', () => {
    expect(
      decide(
        { StringEqualsIgnoreCase: { 'aws:PrincipalTag/team': 'NET' } },
        { 'aws:PrincipalTag/team': 'net' },
      ),
    ).toBe('Allow');
  });
  it('StringLike takes * and ? wildcards; values are ORed', () => {
    const c = { StringLike: { 's3:prefix': ['home/${aws:username}/*', 'shared/?'] } };
    expect(decide(c, { 's3:prefix': 'home/alice/docs' })).toBe('Allow');
    expect(decide(c, { 's3:prefix': 'shared/a' })).toBe('Allow');
    expect(decide(c, { 's3:prefix': 'shared/ab' })).toBe('ImplicitDeny');
    expect(decide(c, { 's3:prefix': 'home/bob/docs' })).toBe('ImplicitDeny');
  });
  it('StringNotEquals holds when the key is absent (a negated operator on a missing key)', () => {
    const c = { StringNotEquals: { 'aws:SourceVpc': 'vpc-111bbb22' } };
    expect(decide(c)).toBe('Allow');
    expect(decide(c, { 'aws:SourceVpc': 'vpc-111bbb22' })).toBe('ImplicitDeny');
    expect(decide(c, { 'aws:SourceVpc': 'vpc-other' })).toBe('Allow');
  });
});

describe('Condition operators: Numeric, Date, Bool, IpAddress, ARN, Null', () => {
  it('NumericLessThanEquals s3:max-keys 10', () => {
    const c = { NumericLessThanEquals: { 's3:max-keys': '10' } };
    expect(decide(c, { 's3:max-keys': '10' })).toBe('Allow');
    expect(decide(c, { 's3:max-keys': '11' })).toBe('ImplicitDeny');
    expect(decide(c, { 's3:max-keys': 'ten' })).toBe('ImplicitDeny');
  });
  it('DateGreaterThan aws:TokenIssueTime, ISO 8601 or epoch seconds', () => {
    const c = { DateGreaterThan: { 'aws:TokenIssueTime': '2020-01-01T00:00:01Z' } };
    expect(decide(c, { 'aws:TokenIssueTime': '2026-12-06T12:00:00Z' })).toBe('Allow');
    expect(decide(c, { 'aws:TokenIssueTime': '1577836800' })).toBe('ImplicitDeny');
  });
  it('Bool aws:SecureTransport', () => {
    const c = { Bool: { 'aws:SecureTransport': 'true' } };
    expect(decide(c, { 'aws:SecureTransport': true })).toBe('Allow');
    expect(decide(c, { 'aws:SecureTransport': false })).toBe('ImplicitDeny');
  });
  it('IpAddress aws:SourceIp 203.0.113.0/24 (and IPv6)', () => {
    const c = { IpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:DB8:1234:5678::/64'] } };
    expect(decide(c, { 'aws:SourceIp': '203.0.113.7' })).toBe('Allow');
    expect(decide(c, { 'aws:SourceIp': '2001:db8:1234:5678::1' })).toBe('Allow');
    expect(decide(c, { 'aws:SourceIp': '198.51.100.1' })).toBe('ImplicitDeny');
    expect(
      decide({ NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '198.51.100.1' }),
    ).toBe('Allow');
  });
  it('ArnLike aws:SourceArn matches segment by segment', () => {
    const c = { ArnLike: { 'aws:SourceArn': 'arn:aws:events:*:123456789012:rule/*' } };
    expect(decide(c, { 'aws:SourceArn': 'arn:aws:events:us-east-1:123456789012:rule/r1' })).toBe('Allow');
    expect(decide(c, { 'aws:SourceArn': 'arn:aws:events:us-east-1:999999999999:rule/r1' })).toBe(
      'ImplicitDeny',
    );
  });
  it('Null aws:TokenIssueTime "true" asks for long-term credentials (key absent)', () => {
    const c = { Null: { 'aws:TokenIssueTime': 'true' } };
    expect(decide(c)).toBe('Allow');
    expect(decide(c, { 'aws:TokenIssueTime': '2026-12-06T12:00:00Z' })).toBe('ImplicitDeny');
    expect(decide({ Null: { 'aws:TokenIssueTime': 'false' } })).toBe('ImplicitDeny');
  });
  it('...IfExists: StringLikeIfExists ec2:InstanceType holds when the key is absent', () => {
    const c = { StringLikeIfExists: { 'ec2:InstanceType': ['t1.*', 't2.*', 'm3.*'] } };
    expect(decide(c)).toBe('Allow');
    expect(decide(c, { 'ec2:InstanceType': 't2.micro' })).toBe('Allow');
    expect(decide(c, { 'ec2:InstanceType': 'c5.large' })).toBe('ImplicitDeny');
  });
  it('operators and keys of one block are ANDed', () => {
    const c = {
      StringEquals: { 'aws:PrincipalTag/a': '1', 'aws:PrincipalTag/b': '2' },
      Bool: { 'aws:SecureTransport': 'true' },
    };
    expect(
      decide(c, { 'aws:PrincipalTag/a': '1', 'aws:PrincipalTag/b': '2', 'aws:SecureTransport': true }),
    ).toBe('Allow');
    expect(
      decide(c, { 'aws:PrincipalTag/a': '1', 'aws:PrincipalTag/b': '2', 'aws:SecureTransport': false }),
    ).toBe('ImplicitDeny');
    expect(decide(c, { 'aws:PrincipalTag/a': '1', 'aws:SecureTransport': true })).toBe('ImplicitDeny');
  });
});

describe('Condition keys with multiple values: ForAllValues / ForAnyValue', () => {
  it('ForAllValues:StringEquals aws:TagKeys: every request tag key must be listed; no keys at all also holds', () => {
    const c = { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['environment', 'cost-center'] } };
    expect(decide(c, { 'aws:TagKeys': ['environment'] })).toBe('Allow');
    expect(decide(c, { 'aws:TagKeys': ['environment', 'owner'] })).toBe('ImplicitDeny');
    expect(decide(c)).toBe('Allow');
  });
  it('ForAnyValue:StringEquals: one request value in the list is enough; no values is false', () => {
    const c = { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['environment', 'cost-center'] } };
    expect(decide(c, { 'aws:TagKeys': ['owner', 'cost-center'] })).toBe('Allow');
    expect(decide(c, { 'aws:TagKeys': ['owner'] })).toBe('ImplicitDeny');
    expect(decide(c)).toBe('ImplicitDeny');
  });
});

describe('Policy grammar: documents IAM refuses, named by element', () => {
  const refuse =
    (doc: unknown, kind: 'identity' | 'resource' = 'identity') =>
    () =>
      parsePolicy(doc, 'role/r policy', kind);
  it('an Effect other than Allow or Deny', () => {
    expect(
      refuse({ Version: '2012-10-17', Statement: [{ Effect: 'Permit', Action: 's3:*', Resource: '*' }] }),
    ).toThrow(new PolicyError('role/r policy: Statement[0].Effect: must be "Allow" or "Deny", got "Permit"'));
  });
  it('Action and NotAction together, or neither', () => {
    expect(
      refuse({ Statement: { Effect: 'Allow', Action: 'a:b', NotAction: 'a:c', Resource: '*' } }),
    ).toThrow(/Action and NotAction cannot both/);
    expect(refuse({ Statement: { Effect: 'Allow', Resource: '*' } })).toThrow(
      /Statement\[0\]: Action or NotAction is required/,
    );
  });
  it('a Principal in an identity-based policy; none in a resource-based policy', () => {
    expect(refuse({ Statement: { Effect: 'Allow', Principal: '*', Action: 'a:b', Resource: '*' } })).toThrow(
      /Principal or NotPrincipal|cannot name a Principal/,
    );
    expect(refuse({ Statement: { Effect: 'Allow', Action: 'a:b', Resource: '*' } }, 'resource')).toThrow(
      /Principal or NotPrincipal is required/,
    );
  });
  it('an unknown Version, element or action form', () => {
    expect(refuse({ Version: '2024-01-01', Statement: [] })).toThrow(/Version must be/);
    expect(refuse({ Statement: { Effect: 'Allow', Action: 's3:*', Resource: '*', Resources: '*' } })).toThrow(
      /Statement\[0\]\.Resources: not a statement element/,
    );
    expect(refuse({ Statement: { Effect: 'Allow', Action: 'GetObject', Resource: '*' } })).toThrow(
      /Action\[0\]: "GetObject" is not service:action/,
    );
  });
  it('an unknown condition operator is refused when evaluated, never ignored', () => {
    expect(() => decide({ StringSortOf: { 'aws:PrincipalTag/a': 'x' } })).toThrow(
      /Condition\.StringSortOf: condition operator not supported/,
    );
  });
  it('Bool and Null take only true or false', () => {
    expect(() => decide({ Bool: { 'aws:SecureTransport': 'yes' } })).toThrow(/"yes" is not true or false/);
  });
  it('malformed JSON text', () => {
    expect(refuse('{"Statement": [')).toThrow(/role\/r policy: the policy is not valid JSON/);
  });
});
