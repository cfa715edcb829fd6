/**
 * The IAM evaluator against the examples of AWS's IAM User Guide: each case names the page (and
 * section) it comes from. Policies are the documents as published (bucket names as there); the
 * decision and the reason phrase are what the page says IAM decides.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables (${aws:username}) are literal policy text here.
import { describe, expect, it } from 'vitest';
import { type Caller, evaluate } from '#local/aws/iam/evaluate.ts';
import { contextOf } from '#local/aws/iam/match.ts';
import { parsePolicy } from '#local/aws/iam/policy.ts';

const identity = (doc: unknown, name = 'identity') => parsePolicy(doc, name, 'identity');
const resourcePolicy = (doc: unknown, name = 'resource') => parsePolicy(doc, name, 'resource');
const V = '2012-10-17';

const carlos: Caller = { arn: 'arn:aws:iam::123456789012:user/carlossalazar', accountId: '123456789012' };

/** `action` on `resource` by `caller` without identity policies, under a resource policy allowing `principal`. */
const grantedTo = (caller: Caller, action: string, resource: string, principal: string) =>
  evaluate({
    caller,
    action,
    resource,
    identityPolicies: [],
    resourcePolicy: resourcePolicy({
      Version: V,
      Statement: { Effect: 'Allow', Principal: { AWS: principal }, Action: action, Resource: resource },
    }),
  }).decision;

describe('Policy evaluation for requests within a single account: "Example identity-based and resource-based policy evaluation"', () => {
  const carlosPolicy = identity({
    Version: V,
    Statement: [
      {
        Sid: 'AllowS3ListRead',
        Effect: 'Allow',
        Action: [
          's3:GetBucketLocation',
          's3:GetAccountPublicAccessBlock',
          's3:ListAccessPoints',
          's3:ListAllMyBuckets',
        ],
        Resource: 'arn:aws:s3:::*',
      },
      {
        Sid: 'AllowS3Self',
        Effect: 'Allow',
        Action: 's3:*',
        Resource: [
          'arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/*',
          'arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar',
        ],
      },
      { Sid: 'DenyS3Logs', Effect: 'Deny', Action: 's3:*', Resource: 'arn:aws:s3:::*log*' },
    ],
  });
  const logsBucketPolicy = resourcePolicy({
    Version: V,
    Statement: [
      {
        Sid: 'AllowCarlosAccess',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::123456789012:user/carlossalazar' },
        Action: 's3:*',
        Resource: 'arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/*',
      },
    ],
  });

  it('the DenyS3Logs statement overrides the bucket policy that allows Carlos to save to the logs bucket', () => {
    // Act
    const d = evaluate({
      caller: carlos,
      action: 's3:PutObject',
      resource: 'arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar-logs/report.txt',
      resourceAccount: '123456789012',
      identityPolicies: [carlosPolicy],
      resourcePolicy: logsBucketPolicy,
    });
    // Assess
    expect(d.decision).toBe('ExplicitDeny');
    expect(d.reason).toBe('with an explicit deny in an identity-based policy');
    expect(d.statements.map((s) => s.statement)).toEqual(['DenyS3Logs']);
  });

  it('Carlos may use his own bucket through AllowS3Self', () => {
    const d = evaluate({
      caller: carlos,
      action: 's3:PutObject',
      resource: 'arn:aws:s3:::amzn-s3-demo-bucket-carlossalazar/a.txt',
      resourceAccount: '123456789012',
      identityPolicies: [carlosPolicy],
    });
    expect(d.decision).toBe('Allow');
    expect(d.statements.map((s) => s.statement)).toEqual(['AllowS3Self']);
  });

  it('"If either the identity-based policy or the resource-based policy within the same account allows the request and the other doesn\'t, the request is still allowed"', () => {
    const bucket = resourcePolicy({
      Version: V,
      Statement: [
        {
          Sid: 'AllowCarlosGet',
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::123456789012:user/carlossalazar' },
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::shared-bucket/*',
        },
      ],
    });
    const d = evaluate({
      caller: carlos,
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::shared-bucket/x',
      resourceAccount: '123456789012',
      identityPolicies: [carlosPolicy],
      resourcePolicy: bucket,
    });
    expect(d.decision).toBe('Allow');
    expect(d.statements).toEqual([
      { policy: 'resource', statement: 'AllowCarlosGet', effect: 'Allow', policyType: 'resource-based' },
    ]);
  });

  it('no Allow anywhere is an implicit deny, in the words of the AccessDenied message', () => {
    const d = evaluate({
      caller: carlos,
      action: 'dynamodb:ListTables',
      resource: '*',
      identityPolicies: [carlosPolicy],
    });
    expect(d.decision).toBe('ImplicitDeny');
    expect(d.reason).toBe('because no identity-based policy allows the dynamodb:ListTables action');
  });
});

describe('The difference between explicit and implicit denies (AllowGetList / DenyReports)', () => {
  const policy = identity({
    Version: V,
    Statement: [
      { Sid: 'AllowGetList', Effect: 'Allow', Action: ['iam:Get*', 'iam:List*'], Resource: '*' },
      { Sid: 'DenyReports', Effect: 'Deny', Action: 'iam:*Report', Resource: '*' },
    ],
  });
  const run = (action: string) =>
    evaluate({ caller: carlos, action, resource: '*', identityPolicies: [policy] });

  it('Get and List actions are allowed', () => {
    expect(run('iam:GetRole').decision).toBe('Allow');
    expect(run('iam:listroles').decision).toBe('Allow'); // action names ignore case
  });
  it('iam:CreatePolicy is implicitly denied', () => {
    expect(run('iam:CreatePolicy').decision).toBe('ImplicitDeny');
  });
  it('iam:GenerateCredentialReport is explicitly denied even if another policy allows it', () => {
    const other = identity(
      { Version: V, Statement: { Effect: 'Allow', Action: 'iam:*', Resource: '*' } },
      'admin',
    );
    const d = evaluate({
      caller: carlos,
      action: 'iam:GenerateCredentialReport',
      resource: '*',
      identityPolicies: [policy, other],
    });
    expect(d.decision).toBe('ExplicitDeny');
    expect(d.statements[0]?.statement).toBe('DenyReports');
  });
});

describe('Cross-account policy evaluation logic', () => {
  const role: Caller = {
    arn: 'arn:aws:sts::111111111111:assumed-role/Reader/session-1',
    roleArn: 'arn:aws:iam::111111111111:role/Reader',
    accountId: '111111111111',
  };
  const readQueue = identity({
    Version: V,
    Statement: { Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:SendMessage'], Resource: '*' },
  });
  const queueArn = 'arn:aws:sqs:us-east-1:222222222222:orders';

  it('the trusting account\'s resource policy must name the principal: without it, "no resource-based policy allows"', () => {
    const d = evaluate({
      caller: role,
      action: 'sqs:SendMessage',
      resource: queueArn,
      identityPolicies: [readQueue],
    });
    expect(d.decision).toBe('ImplicitDeny');
    expect(d.reason).toBe('because no resource-based policy allows the sqs:SendMessage action');
  });

  it("a grant to the whole trusted account still needs the principal's identity-based policy", () => {
    const queuePolicy = resourcePolicy({
      Version: V,
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: '111111111111' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
      },
    });
    expect(
      evaluate({
        caller: role,
        action: 'sqs:SendMessage',
        resource: queueArn,
        identityPolicies: [readQueue],
        resourcePolicy: queuePolicy,
      }).decision,
    ).toBe('Allow');
    const d = evaluate({
      caller: role,
      action: 'sqs:SendMessage',
      resource: queueArn,
      identityPolicies: [],
      resourcePolicy: queuePolicy,
    });
    expect(d.decision).toBe('ImplicitDeny');
    expect(d.reason).toBe('because no identity-based policy allows the sqs:SendMessage action');
  });

  it('the allowed actions are those both policies allow: ReceiveMessage is not in the queue policy', () => {
    const queuePolicy = resourcePolicy({
      Version: V,
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::111111111111:role/Reader' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
      },
    });
    const run = (action: string) =>
      evaluate({
        caller: role,
        action,
        resource: queueArn,
        identityPolicies: [readQueue],
        resourcePolicy: queuePolicy,
      });
    expect(run('sqs:SendMessage').decision).toBe('Allow');
    expect(run('sqs:ReceiveMessage').decision).toBe('ImplicitDeny');
  });

  it("an explicit deny in the trusting account's resource policy wins", () => {
    const queuePolicy = resourcePolicy({
      Version: V,
      Statement: [
        {
          Sid: 'Allow',
          Effect: 'Allow',
          Principal: { AWS: '111111111111' },
          Action: 'sqs:*',
          Resource: queueArn,
        },
        { Sid: 'NoSend', Effect: 'Deny', Principal: '*', Action: 'sqs:SendMessage', Resource: queueArn },
      ],
    });
    const d = evaluate({
      caller: role,
      action: 'sqs:SendMessage',
      resource: queueArn,
      identityPolicies: [readQueue],
      resourcePolicy: queuePolicy,
    });
    expect(d.decision).toBe('ExplicitDeny');
    expect(d.reason).toBe('with an explicit deny in a resource-based policy');
    expect(d.statements.map((s) => s.statement)).toEqual(['NoSend']);
  });
});

describe('IAM JSON policy elements: Principal (AWS account principals, role sessions, services)', () => {
  const session: Caller = {
    arn: 'arn:aws:sts::123456789012:assumed-role/crosslink-initiate/fn',
    roleArn: 'arn:aws:iam::123456789012:role/crosslink-initiate',
    accountId: '123456789012',
  };
  const busArn = 'arn:aws:events:us-east-1:123456789012:event-bus/default';

  const putEventsUnder = (principal: string) => grantedTo(session, 'events:PutEvents', busArn, principal);

  it('a resource policy naming the role allows its sessions in the same account without an identity policy', () => {
    expect(putEventsUnder('arn:aws:iam::123456789012:role/crosslink-initiate')).toBe('Allow');
    expect(putEventsUnder('arn:aws:sts::123456789012:assumed-role/crosslink-initiate/fn')).toBe('Allow');
    expect(putEventsUnder('arn:aws:iam::123456789012:role/another')).toBe('ImplicitDeny');
  });

  it('a resource policy naming only the account delegates to the identity policies (same account)', () => {
    expect(putEventsUnder('arn:aws:iam::123456789012:root')).toBe('ImplicitDeny');
    expect(putEventsUnder('123456789012')).toBe('ImplicitDeny');
  });

  it('a service principal is allowed only by a resource policy naming it, with its conditions (aws:SourceArn)', () => {
    const queuePolicy = resourcePolicy({
      Version: V,
      Statement: {
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: 'arn:aws:sqs:us-east-1:123456789012:dlq',
        Condition: { ArnEquals: { 'aws:SourceArn': 'arn:aws:events:us-east-1:123456789012:rule/link-*' } },
      },
    });
    const run = (sourceArn: string) =>
      evaluate({
        caller: { arn: 'events.amazonaws.com', service: 'events.amazonaws.com' },
        action: 'sqs:SendMessage',
        resource: 'arn:aws:sqs:us-east-1:123456789012:dlq',
        identityPolicies: [],
        resourcePolicy: queuePolicy,
        context: contextOf({ 'aws:SourceArn': sourceArn }),
      }).decision;
    expect(run('arn:aws:events:us-east-1:123456789012:rule/link-approved')).toBe('Allow');
    expect(run('arn:aws:events:us-east-1:123456789012:rule/other')).toBe('ImplicitDeny');
  });

  it('NotPrincipal with Deny: a role session is excluded only when its session, role and account are all listed', () => {
    const deny = (listed: string[]) =>
      resourcePolicy({
        Version: V,
        Statement: [
          {
            Sid: 'AllowAll',
            Effect: 'Allow',
            Principal: { AWS: '123456789012' },
            Action: 'events:PutEvents',
            Resource: busArn,
          },
          {
            Sid: 'DenyOthers',
            Effect: 'Deny',
            NotPrincipal: { AWS: listed },
            Action: 'events:PutEvents',
            Resource: busArn,
          },
        ],
      });
    const allowPut = identity({
      Version: V,
      Statement: { Effect: 'Allow', Action: 'events:PutEvents', Resource: '*' },
    });
    const run = (listed: string[]) =>
      evaluate({
        caller: session,
        action: 'events:PutEvents',
        resource: busArn,
        identityPolicies: [allowPut],
        resourcePolicy: deny(listed),
      }).decision;
    expect(run(['arn:aws:iam::123456789012:role/crosslink-initiate'])).toBe('ExplicitDeny');
    expect(
      run([
        'arn:aws:iam::123456789012:role/crosslink-initiate',
        'arn:aws:sts::123456789012:assumed-role/crosslink-initiate/fn',
        'arn:aws:iam::123456789012:root',
      ]),
    ).toBe('Allow');
  });
});

describe('AWS KMS: key policies ("Default key policy": the account principal enables IAM policies)', () => {
  const keyArn = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const allowDecrypt = identity({
    Version: V,
    Statement: { Effect: 'Allow', Action: 'kms:Decrypt', Resource: keyArn },
  });

  it('without a key policy statement for the caller or its account, an identity policy is not enough', () => {
    const keyPolicy = resourcePolicy({
      Version: V,
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::123456789012:user/admin' },
        Action: 'kms:*',
        Resource: '*',
      },
    });
    const d = evaluate({
      caller: carlos,
      action: 'kms:Decrypt',
      resource: keyArn,
      identityPolicies: [allowDecrypt],
      resourcePolicy: keyPolicy,
      resourcePolicyRequired: true,
    });
    expect(d.decision).toBe('ImplicitDeny');
    expect(d.reason).toBe('because no resource-based policy allows the kms:Decrypt action');
  });

  it('with the default key policy (account root: kms:*), the identity policy decides', () => {
    const keyPolicy = resourcePolicy({
      Version: V,
      Statement: {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::123456789012:root' },
        Action: 'kms:*',
        Resource: '*',
      },
    });
    const run = (policies: ReturnType<typeof identity>[]) =>
      evaluate({
        caller: carlos,
        action: 'kms:Decrypt',
        resource: keyArn,
        identityPolicies: policies,
        resourcePolicy: keyPolicy,
        resourcePolicyRequired: true,
      }).decision;
    expect(run([allowDecrypt])).toBe('Allow');
    expect(run([])).toBe('ImplicitDeny');
  });

  it('the account root user needs no identity policy, but still a key policy', () => {
    const root: Caller = { arn: 'arn:aws:iam::123456789012:root', accountId: '123456789012' };
    const empty = resourcePolicy({
      Version: V,
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::123456789012:user/other' },
        Action: 'kms:*',
        Resource: '*',
      },
    });
    expect(
      evaluate({ caller: root, action: 'dynamodb:ListTables', resource: '*', identityPolicies: [] }).decision,
    ).toBe('Allow');
    expect(
      evaluate({
        caller: root,
        action: 'kms:Decrypt',
        resource: keyArn,
        identityPolicies: [],
        resourcePolicy: empty,
        resourcePolicyRequired: true,
      }).decision,
    ).toBe('ImplicitDeny');
  });
});

describe('IAM JSON policy elements: NotAction, NotResource', () => {
  it('"NotAction": "iam:*" with Allow allows every action except IAM ones', () => {
    const p = identity({ Version: V, Statement: { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' } });
    const run = (action: string) =>
      evaluate({ caller: carlos, action, resource: '*', identityPolicies: [p] }).decision;
    expect(run('dynamodb:ListTables')).toBe('Allow');
    expect(run('iam:CreateUser')).toBe('ImplicitDeny');
  });
  it('NotResource with Deny denies every resource but the listed one', () => {
    const p = identity({
      Version: V,
      Statement: [
        { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: '*' },
        {
          Effect: 'Deny',
          Action: 'secretsmanager:GetSecretValue',
          NotResource: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:crosslink/*',
        },
      ],
    });
    const run = (resource: string) =>
      evaluate({ caller: carlos, action: 'secretsmanager:GetSecretValue', resource, identityPolicies: [p] })
        .decision;
    expect(run('arn:aws:secretsmanager:us-east-1:123456789012:secret:crosslink/psk-AbC123')).toBe('Allow');
    expect(run('arn:aws:secretsmanager:us-east-1:123456789012:secret:payroll-AbC123')).toBe('ExplicitDeny');
  });
});

describe('IAM policy elements: variables and tags ("${aws:username}", defaults, ${*})', () => {
  it("a resource named with ${aws:username} matches only the caller's own", () => {
    const p = identity({
      Version: V,
      Statement: {
        Effect: 'Allow',
        Action: 's3:*',
        Resource: 'arn:aws:s3:::amzn-s3-demo-bucket/${aws:username}/*',
      },
    });
    const run = (resource: string) =>
      evaluate({ caller: carlos, action: 's3:GetObject', resource, identityPolicies: [p] }).decision;
    expect(run('arn:aws:s3:::amzn-s3-demo-bucket/carlossalazar/notes.txt')).toBe('Allow');
    expect(run('arn:aws:s3:::amzn-s3-demo-bucket/someone-else/notes.txt')).toBe('ImplicitDeny');
  });

  it('a variable the request lacks matches nothing; its default value is used when given', () => {
    const p = (resource: string) =>
      identity({ Version: V, Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: resource } });
    const run = (resource: string, target: string) =>
      evaluate({ caller: carlos, action: 's3:GetObject', resource: target, identityPolicies: [p(resource)] })
        .decision;
    expect(run('arn:aws:s3:::b/${aws:PrincipalTag/team}/*', 'arn:aws:s3:::b/company-wide/x')).toBe(
      'ImplicitDeny',
    );
    expect(
      run("arn:aws:s3:::b/${aws:PrincipalTag/team, 'company-wide'}/*", 'arn:aws:s3:::b/company-wide/x'),
    ).toBe('Allow');
  });

  it('${*} is a literal asterisk, not a wildcard', () => {
    const p = identity({
      Version: V,
      Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/${*}' },
    });
    const run = (resource: string) =>
      evaluate({ caller: carlos, action: 's3:GetObject', resource, identityPolicies: [p] }).decision;
    expect(run('arn:aws:s3:::b/*')).toBe('Allow');
    expect(run('arn:aws:s3:::b/anything')).toBe('ImplicitDeny');
  });

  it('in a 2008-10-17 policy ${aws:username} is literal text', () => {
    const p = identity({
      Version: '2008-10-17',
      Statement: { Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::b/${aws:username}/*' },
    });
    expect(
      evaluate({
        caller: carlos,
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::b/carlossalazar/x',
        identityPolicies: [p],
      }).decision,
    ).toBe('ImplicitDeny');
  });
});

describe('Cross-account policy evaluation logic: the root user of the trusted account', () => {
  const root: Caller = { arn: 'arn:aws:iam::111111111111:root', accountId: '111111111111' };
  const queueArn = 'arn:aws:sqs:us-east-1:222222222222:orders';
  const run = (principal: string) => grantedTo(root, 'sqs:SendMessage', queueArn, principal);

  it('holds what the trusting account grants its account, without an identity policy', () => {
    expect(run('111111111111')).toBe('Allow');
  });
  it('but nothing the trusting account grants to another', () => {
    expect(run('333333333333')).toBe('ImplicitDeny');
  });
});
