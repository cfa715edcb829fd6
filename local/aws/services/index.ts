/**
 * The service modules the AWS edge serves. Adding a service = one file in this folder that
 * default-exports `defineService({...})`, plus one line here.
 */
import type { AnyAwsService } from '../service.ts';
import interconnect from './interconnect.ts';

export const awsServices: readonly AnyAwsService[] = [interconnect];
