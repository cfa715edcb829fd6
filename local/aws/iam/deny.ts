/**
 * The answer a service gives when IAM refuses a call: each service's own error code, HTTP status
 * and message in the form AWS uses ("User: <arn> is not authorized to perform: <action> on
 * resource: <arn> because no identity-based policy allows the <action> action").
 */
import { AwsError } from '../errors.ts';
import type { Decision } from './evaluate.ts';

interface DenialShape {
  code: string;
  status: number;
  /** Query-compatible JSON services name the query-protocol code in `x-amzn-query-error`. */
  headers?: Record<string, string>;
  /** EC2 leads its message with this sentence. */
  prefix?: string;
}

/**
 * By SigV4 signing name. SQS and CloudWatch speak JSON but are `awsQueryCompatible`: the body names
 * the coral AccessDeniedException and the header the query code, which the SDK reports
 * (`AccessDenied`). STS (query) answers `AccessDenied`, EC2 `UnauthorizedOperation`; the REST and
 * newer JSON services 403; the older JSON services (DynamoDB, KMS, Secrets Manager, EventBridge,
 * Step Functions, Direct Connect) `AccessDeniedException` with 400.
 */
const SHAPES: Record<string, DenialShape> = {
  sqs: {
    code: 'com.amazon.coral.service#AccessDeniedException',
    status: 403,
    headers: { 'x-amzn-query-error': 'AccessDenied;Sender' },
  },
  monitoring: {
    code: 'com.amazon.coral.service#AccessDeniedException',
    status: 403,
    headers: { 'x-amzn-query-error': 'AccessDenied;Sender' },
  },
  sts: { code: 'AccessDenied', status: 403 },
  ec2: {
    code: 'UnauthorizedOperation',
    status: 403,
    prefix: 'You are not authorized to perform this operation. ',
  },
  lambda: { code: 'AccessDeniedException', status: 403 },
  interconnect: { code: 'AccessDeniedException', status: 403 },
  scheduler: { code: 'AccessDeniedException', status: 403 },
};
const DEFAULT_SHAPE: DenialShape = { code: 'AccessDeniedException', status: 400 };

/** IAM's sentence for a refused call (a resource of `*` is not named). */
export function deniedMessage(
  callerArn: string,
  action: string,
  resource: string,
  decision: Decision,
): string {
  const on = resource === '*' ? '' : ` on resource: ${resource}`;
  return `User: ${callerArn} is not authorized to perform: ${action}${on} ${decision.reason}`;
}

/** The error the service with this signing name answers a refused call with. */
export function accessDenied(
  signingName: string,
  callerArn: string,
  action: string,
  resource: string,
  decision: Decision,
): AwsError {
  const shape = SHAPES[signingName] ?? DEFAULT_SHAPE;
  return new AwsError(
    shape.code,
    `${shape.prefix ?? ''}${deniedMessage(callerArn, action, resource, decision)}`,
    {
      status: shape.status,
      ...(shape.headers && { headers: shape.headers }),
    },
  );
}
