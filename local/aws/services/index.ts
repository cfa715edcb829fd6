/**
 * The service modules the AWS edge serves. Adding a service = one file in this folder that
 * default-exports `defineService({...})`, plus one line here.
 */
import type { AnyAwsService } from '../service.ts';
import cloudformation from './cloudformation.ts';
import cloudwatch from './cloudwatch.ts';
import directconnect from './directconnect.ts';
import dynamodb from './dynamodb.ts';
import ec2 from './ec2.ts';
import ecr from './ecr.ts';
import events from './events.ts';
import interconnect from './interconnect.ts';
import kms from './kms.ts';
import lambda from './lambda.ts';
import s3 from './s3.ts';
import scheduler from './scheduler.ts';
import secretsmanager from './secretsmanager.ts';
import sqs from './sqs.ts';
import states from './states.ts';
import sts from './sts.ts';

export const awsServices: readonly AnyAwsService[] = [
  interconnect,
  sts,
  kms,
  secretsmanager,
  dynamodb,
  directconnect,
  ec2,
  cloudwatch,
  states,
  events,
  sqs,
  lambda,
  cloudformation,
  s3,
  ecr,
  scheduler,
];
