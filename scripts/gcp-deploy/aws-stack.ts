/**
 * What the Google deploy takes from the AWS stack (serverless.yml `resources.Outputs`): the relay's
 * route and role, the key Google seals activation keys to, and the installation (the stack's stage,
 * which names VPN run ids on both sides). `--from-aws-stack <name>` reads them
 * with CloudFormation DescribeStacks and the key's public half with KMS GetPublicKey (CloudFormation
 * has no attribute for it), as the deploying AWS identity; `--from-aws-file <json>` reads the JSON
 * of `aws cloudformation describe-stacks` (or its Outputs array) and takes the public key from the
 * environment. Variables set in the environment win over the stack's.
 */

import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Sha256 } from '@aws-crypto/sha256-js';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** Each output deploy-gcp reads, and the gcp.yml `${env:NAME}` it fills. */
export const OUTPUT_VARIABLES: Readonly<Record<string, string>> = {
  RelayFromGoogleUrl: 'CROSSLINK_AWS_RELAY_URL',
  RelayToGoogleRoleArn: 'CROSSLINK_AWS_RELAY_ROLE_ARN',
  ActivationKeyKmsArn: 'CROSSLINK_PEER_KEY_ID',
  Installation: 'CROSSLINK_INSTALLATION',
};

export interface AwsAccess {
  region: string;
  /** The SDK's AWS_ENDPOINT_URL (the local cloud), or the public endpoints. */
  endpoint?: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

/** A stack's outputs from describe-stacks JSON (`{Stacks: [{Outputs}]}`), an Outputs array, or a map. */
export function outputsOf(json: unknown, what: string): Record<string, string> {
  const stacks = (json as { Stacks?: { Outputs?: unknown }[] } | null)?.Stacks;
  const list = Array.isArray(stacks) ? stacks[0]?.Outputs : json;
  if (Array.isArray(list))
    return Object.fromEntries(
      list.map((o: { OutputKey?: unknown; OutputValue?: unknown }) => {
        if (typeof o?.OutputKey !== 'string' || typeof o.OutputValue !== 'string')
          throw new Error(`${what}: every output needs OutputKey and OutputValue`);
        return [o.OutputKey, o.OutputValue];
      }),
    );
  if (json && typeof json === 'object' && Object.values(json).every((v) => typeof v === 'string'))
    return json as Record<string, string>;
  throw new Error(
    `${what}: not the JSON of aws cloudformation describe-stacks (Stacks[0].Outputs), an Outputs array or a map of outputs`,
  );
}

export function readOutputsFile(file: string): Record<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`--from-aws-file ${file}: ${(e as Error).message}`);
  }
  return outputsOf(json, `--from-aws-file ${file}`);
}

const unescapeXml = (s: string) =>
  s
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');

/** DescribeStacks (awsQuery, SigV4) of one stack: its outputs. */
export async function describeStackOutputs(stack: string, aws: AwsAccess): Promise<Record<string, string>> {
  const url = new URL(aws.endpoint ?? `https://cloudformation.${aws.region}.amazonaws.com/`);
  const body = new URLSearchParams({
    Action: 'DescribeStacks',
    Version: '2010-05-15',
    StackName: stack,
  }).toString();
  const signer = new SignatureV4({
    service: 'cloudformation',
    region: aws.region,
    sha256: Sha256,
    credentials: aws.credentials,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
  });
  const res = await fetch(url, { method: 'POST', headers: signed.headers as Record<string, string>, body });
  const xml = await res.text();
  if (!res.ok) {
    const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] ?? `HTTP ${res.status}`;
    const message = unescapeXml(/<Message>([^<]*)<\/Message>/.exec(xml)?.[1] ?? '');
    throw new Error(`--from-aws-stack ${stack}: DescribeStacks: ${code}: ${message}`);
  }
  const outputs = /<Outputs>([\s\S]*?)<\/Outputs>/.exec(xml)?.[1] ?? '';
  const out: Record<string, string> = {};
  for (const m of outputs.matchAll(/<member>([\s\S]*?)<\/member>/g)) {
    const key = /<OutputKey>([^<]*)<\/OutputKey>/.exec(m[1] as string)?.[1];
    const value = /<OutputValue>([^<]*)<\/OutputValue>/.exec(m[1] as string)?.[1];
    if (key !== undefined && value !== undefined) out[unescapeXml(key)] = unescapeXml(value);
  }
  return out;
}

/** The public half (SPKI PEM) of an asymmetric KMS key. */
export async function kmsPublicKeyPem(keyArn: string, aws: AwsAccess): Promise<string> {
  const kms = new KMSClient({
    region: aws.region,
    credentials: aws.credentials,
    ...(aws.endpoint ? { endpoint: aws.endpoint } : {}),
  });
  try {
    const out = await kms.send(new GetPublicKeyCommand({ KeyId: keyArn }));
    return createPublicKey({
      key: Buffer.from(out.PublicKey as Uint8Array),
      format: 'der',
      type: 'spki',
    }).export({
      type: 'spki',
      format: 'pem',
    }) as string;
  } finally {
    kms.destroy();
  }
}

/**
 * gcp.yml's variables from the stack's outputs (and the key's PEM, when read): every output of
 * OUTPUT_VARIABLES must be there.
 */
export function variablesFromOutputs(
  outputs: Record<string, string>,
  what: string,
  publicKeyPem?: string,
): Record<string, string> {
  const missing = Object.keys(OUTPUT_VARIABLES).filter((k) => !outputs[k]);
  if (missing.length > 0)
    throw new Error(
      `${what}: no output ${missing.join(', ')} (serverless.yml resources.Outputs: deploy the AWS half first)`,
    );
  return {
    ...Object.fromEntries(Object.entries(OUTPUT_VARIABLES).map(([k, v]) => [v, outputs[k] as string])),
    ...(publicKeyPem ? { CROSSLINK_PEER_PUBLIC_KEY_PEM: publicKeyPem } : {}),
  };
}
