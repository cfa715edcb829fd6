/**
 * The answers a refused call gets, per protocol and service: code, status, message, and the
 * serialized shape the SDKs read.
 */
import { describe, expect, it } from 'vitest';
import { accessDenied } from '#local/aws/iam/deny.ts';
import { evaluate } from '#local/aws/iam/evaluate.ts';
import { parsePolicy } from '#local/aws/iam/policy.ts';
import { serializeError } from '#local/aws/protocols.ts';

const bob = { arn: 'arn:aws:iam::000000000000:user/bob', accountId: '000000000000' };
const noGrant = evaluate({ caller: bob, action: 'dynamodb:GetItem', resource: 'x', identityPolicies: [] });

describe('AccessDenied answers', () => {
  it("DynamoDB (JSON 1.0): AccessDeniedException, 400, IAM's sentence naming caller, action, resource and reason", () => {
    const resource = 'arn:aws:dynamodb:us-east-1:000000000000:table/links';
    const d = evaluate({ caller: bob, action: 'dynamodb:GetItem', resource, identityPolicies: [] });
    const err = accessDenied('dynamodb', bob.arn, 'dynamodb:GetItem', resource, d);
    expect(err.code).toBe('AccessDeniedException');
    expect(err.status).toBe(400);
    expect(err.message).toBe(
      'User: arn:aws:iam::000000000000:user/bob is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/links because no identity-based policy allows the dynamodb:GetItem action',
    );
    const wire = serializeError(err, { protocol: 'json1.0', requestId: 'r' });
    expect(JSON.parse(wire.body.toString())).toEqual({
      __type: 'AccessDeniedException',
      message: err.message,
    });
  });

  it('an explicit deny in a resource-based policy says so', () => {
    const bus = 'arn:aws:events:us-east-1:000000000000:event-bus/crosslink';
    const policy = parsePolicy(
      {
        Version: '2012-10-17',
        Statement: { Effect: 'Deny', Principal: '*', Action: 'events:PutEvents', Resource: bus },
      },
      'event bus crosslink',
      'resource',
    );
    const d = evaluate({
      caller: bob,
      action: 'events:PutEvents',
      resource: bus,
      identityPolicies: [],
      resourcePolicy: policy,
    });
    expect(accessDenied('events', bob.arn, 'events:PutEvents', bus, d).message).toBe(
      `User: ${bob.arn} is not authorized to perform: events:PutEvents on resource: ${bus} with an explicit deny in a resource-based policy`,
    );
  });

  it('SQS and CloudWatch (query-compatible JSON): 403, the coral type and the query code in x-amzn-query-error', () => {
    for (const signingName of ['sqs', 'monitoring']) {
      const err = accessDenied(signingName, bob.arn, 'sqs:SendMessage', '*', noGrant);
      expect(err.status).toBe(403);
      const wire = serializeError(err, { protocol: 'json1.0', requestId: 'r' });
      expect(wire.headers['x-amzn-query-error']).toBe('AccessDenied;Sender');
      expect(JSON.parse(wire.body.toString()).__type).toBe('com.amazon.coral.service#AccessDeniedException');
    }
  });

  it('STS (query): <Error><Code>AccessDenied</Code> with 403, Sender', () => {
    const err = accessDenied('sts', bob.arn, 'sts:AssumeRole', 'arn:aws:iam::000000000000:role/r', noGrant);
    const xml = serializeError(err, { protocol: 'query', requestId: 'r' });
    expect(xml.status).toBe(403);
    expect(xml.body.toString()).toContain(
      '<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: ',
    );
  });

  it('EC2: UnauthorizedOperation, 403, "You are not authorized to perform this operation." first', () => {
    const err = accessDenied('ec2', bob.arn, 'ec2:DescribeVpnConnections', '*', noGrant);
    expect(err.code).toBe('UnauthorizedOperation');
    expect(err.status).toBe(403);
    expect(err.message).toMatch(
      /^You are not authorized to perform this operation\. User: arn:aws:iam::000000000000:user\/bob is not authorized to perform: ec2:DescribeVpnConnections because/,
    );
  });

  it('Lambda and Interconnect: AccessDeniedException with 403', () => {
    expect(accessDenied('lambda', bob.arn, 'lambda:InvokeFunction', '*', noGrant).status).toBe(403);
    expect(accessDenied('interconnect', bob.arn, 'interconnect:ListConnections', '*', noGrant).status).toBe(
      403,
    );
  });
});
