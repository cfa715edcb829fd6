/**
 * The service modules the AWS edge serves. Adding a service = one file in this folder that
 * default-exports `defineService({...})`, plus one line here.
 */
import type { AnyAwsService } from '../service.ts';
import events from './events.ts';
import interconnect from './interconnect.ts';
import lambda from './lambda.ts';
import sqs from './sqs.ts';
import states from './states.ts';

export const awsServices: readonly AnyAwsService[] = [interconnect, states, events, sqs, lambda];
