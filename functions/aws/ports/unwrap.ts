/** The key unwrap port: KMS Decrypt with this side's key (CROSSLINK_KMS_KEY_ID). */
import { KMSClient } from '@aws-sdk/client-kms';
import { need } from '#core/link/settings.ts';
import { kmsUnwrap } from '../kms-unwrap.ts';
import { type PortFactory, region } from '../runtime.ts';

export const unwrap: PortFactory<'unwrap'> = (env) =>
  kmsUnwrap(new KMSClient({ region: region(env) }), need(env, 'CROSSLINK_KMS_KEY_ID'));
