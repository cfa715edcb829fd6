/**
 * The least-privilege report (scripts/iam/least-privilege.ts): what each function and state
 * machine used against what its role grants, merged over several clouds' records; refusals and
 * unexplained unused grants are its problems; a wildcard grant is used by any action it covers.
 */
import { describe, expect, it } from 'vitest';
import {
  type DecisionRecord,
  leastPrivilege,
  problems,
  type ServiceIam,
} from '#scripts/iam/least-privilege.ts';

const ROLE = 'arn:aws:iam::000000000000:role/crosslink-dev-StepRequestRole';
const STATES = 'arn:aws:iam::000000000000:role/crosslink-dev-StatesRole';
const service: ServiceIam = {
  service: 'crosslink',
  functions: ['stepRequest', 'stepActivateAccept'],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: serverless.yml's own variable, as written there.
  stateMachines: { linkProvisioning: 'crosslink-link-provisioning-${sls:stage}' },
  reasons: {
    stepRequest: { 'dynamodb:Query': 'the link store lists links' },
    stepActivateAccept: { '*': 'runs only when Google initiates' },
  },
};

const record = (decisions: DecisionRecord['decisions']): DecisionRecord => ({
  principals: [
    {
      kind: 'function',
      name: 'crosslink-dev-stepRequest',
      role: ROLE,
      grants: ['events:PutEvents', 'dynamodb:Query', 'dynamodb:Get*', 'sts:AssumeRole'],
    },
    {
      kind: 'function',
      name: 'crosslink-dev-stepActivateAccept',
      role: 'arn:aws:iam::000000000000:role/crosslink-dev-StepActivateAcceptRole',
      grants: ['kms:Decrypt'],
    },
    {
      kind: 'stateMachine',
      name: 'crosslink-link-provisioning-dev',
      role: STATES,
      grants: ['lambda:InvokeFunction'],
    },
  ],
  decisions,
});

describe('least-privilege report', () => {
  it('merges the records: used with their calls, wildcards covered, reasons by action or "*"', () => {
    // Act
    const report = leastPrivilege(
      [
        record([
          { principal: ROLE, action: 'events:PutEvents', resource: 'bus', decision: 'Allow', count: 2 },
          { principal: STATES, action: 'lambda:InvokeFunction', resource: 'fn', decision: 'Allow', count: 1 },
        ]),
        record([
          { principal: ROLE, action: 'events:PutEvents', resource: 'bus', decision: 'Allow', count: 3 },
          { principal: ROLE, action: 'dynamodb:GetItem', resource: 'table', decision: 'Allow', count: 1 },
        ]),
      ],
      service,
    );
    // Assess
    const step = report.find((p) => p.key === 'stepRequest');
    expect(step?.used).toEqual([
      { action: 'dynamodb:GetItem', calls: 1 },
      { action: 'events:PutEvents', calls: 5 },
    ]);
    expect(step?.unused).toEqual([
      { grant: 'dynamodb:Query', reason: 'the link store lists links' },
      { grant: 'sts:AssumeRole' },
    ]);
    expect(report.find((p) => p.key === 'stepActivateAccept')?.unused).toEqual([
      { grant: 'kms:Decrypt', reason: 'runs only when Google initiates' },
    ]);
    expect(report.find((p) => p.key === 'linkProvisioning')?.unused).toEqual([]);
    expect(problems(report)).toEqual([
      'stepRequest: sts:AssumeRole is granted, unused, and has no reason in custom.iamReasons',
    ]);
  });

  it('names a refused action as a problem, with its resource and the kind of denial', () => {
    // Act
    const report = leastPrivilege(
      [
        record([
          {
            principal: ROLE,
            action: 'events:PutEvents',
            resource: 'arn:bus',
            decision: 'ExplicitDeny',
            count: 1,
          },
          { principal: ROLE, action: 'dynamodb:GetItem', resource: 'table', decision: 'Allow', count: 1 },
          { principal: ROLE, action: 'dynamodb:Query', resource: 'table', decision: 'Allow', count: 1 },
          { principal: ROLE, action: 'sts:AssumeRole', resource: 'role', decision: 'Allow', count: 1 },
          { principal: STATES, action: 'lambda:InvokeFunction', resource: 'fn', decision: 'Allow', count: 1 },
        ]),
      ],
      service,
    );
    // Assess
    expect(problems(report)).toEqual([
      'stepRequest: events:PutEvents on arn:bus was refused (ExplicitDeny)',
      'stepRequest: events:PutEvents is granted, unused, and has no reason in custom.iamReasons',
    ]);
  });
});
