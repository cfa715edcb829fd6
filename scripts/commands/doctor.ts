/**
 * `crosslink doctor [--target local|cloud]`: read-only checks of an installation on both clouds,
 * one line each with the fix on a failure (scripts/cli/doctor.ts). Exit 0 healthy, 1 otherwise.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GoogleAuth } from 'google-auth-library';
import { loadGcpConfig } from '#deployment/gcp-config.ts';
import { CLOUD_PLATFORM, jwtClient, readKeyFile } from '#gcp/google-credentials.ts';
import type { Command, CommandContext } from '../cli/command.ts';
import { type CheckResult, checkLine, type DoctorTarget, runDoctor } from '../cli/doctor.ts';
import { EXIT, UsageError } from '../cli/errors.ts';
import { identity } from '../cli/identities.ts';
import { defaultChainCredentials } from '../cli/intake-client.ts';
import { policyPath, readPolicy } from '../cli/policy.ts';

/** gcp.yml: `--gcp-config`, else ./gcp.yml, else the shipped one. */
function gcpConfigPath(ctx: CommandContext): string {
  const given = ctx.options['gcp-config'] as string | undefined;
  if (given) return resolve(ctx.home, given);
  const local = join(ctx.home, 'gcp.yml');
  return existsSync(local) ? local : resolve(import.meta.dirname, '..', '..', 'gcp.yml');
}

/** The relay's lag allowed when gcp.yml's `doctor.relayMaxLagSeconds` does not say. */
const RELAY_MAX_LAG_SECONDS = 300;

/**
 * What gcp.yml says the project holds: the bootstrap's APIs, the sealing key, the subscriptions
 * that push to AWS (the relay), and the lag allowed.
 */
function googleSpec(file: string) {
  const config = loadGcpConfig(file);
  const kmsKey =
    config.functions.map((f) => f.environment?.CROSSLINK_KMS_KEY).find((k) => k !== undefined) ??
    'crosslink/activation';
  return {
    apis: config.bootstrap?.apis ?? [],
    kmsKey,
    region: config.region,
    relaySubscriptions: config.subscriptions.filter((s) => s.push?.endpoint).map((s) => s.name),
    relayMaxLagSeconds: config.doctor.relayMaxLagSeconds ?? RELAY_MAX_LAG_SECONDS,
  };
}

async function target(ctx: CommandContext): Promise<DoctorTarget> {
  const policy = await readPolicy(policyPath(ctx.home, undefined, ctx.io.env));
  const spec = googleSpec(gcpConfigPath(ctx));
  const stage = (ctx.options.stage as string | undefined) ?? 'dev';
  const where = await ctx.resolveTarget();
  if (where.kind === 'local') {
    const local = where.local;
    if (!local.aws || !local.gcp) throw new UsageError('the local cloud runs without its AWS or Google edge');
    const who = await identity(ctx.home, ctx.global.as ?? 'admin');
    if (!who.aws) throw new UsageError(`--as ${who.name}: this identity has no AWS keys`);
    const key = await readKeyFile(join(where.home, '.crosslink', 'keys', `${who.name}.json`)).catch((e) => {
      throw new UsageError(`--as ${who.name}: no Google key file (${(e as Error).message.split('\n')[0]})`);
    });
    const jwt = jwtClient(key);
    const admin = local.admin;
    return {
      kind: 'local',
      policy,
      relayMaxLagSeconds: spec.relayMaxLagSeconds,
      now: async () => {
        if (!admin) return Date.now();
        const res = await fetch(`${admin}/clock`);
        return Date.parse(((await res.json()) as { now: string }).now);
      },
      aws: {
        region: local.aws.region,
        stage,
        endpoint: local.aws.endpoint,
        credentials: { accessKeyId: who.aws.accessKeyId, secretAccessKey: who.aws.secretAccessKey },
        intake: local.intakes.aws ?? undefined,
      },
      gcp: {
        project: local.gcp.project,
        region: local.gcp.region,
        endpoint: local.gcp.endpoint,
        accessToken: async () => (await jwt.getAccessToken()).token ?? '',
        intake: local.intakes.gcp ?? undefined,
        apis: spec.apis,
        kmsKey: spec.kmsKey,
        relaySubscriptions: spec.relaySubscriptions,
      },
      emulators: { pubsub: local.pubsubEmulatorHost, firestore: local.firestoreEmulatorHost },
    };
  }
  if (ctx.global.as) throw new UsageError('--as is for the local cloud only');
  const env = ctx.io.env;
  const region = (ctx.options.region as string | undefined) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const project = (ctx.options.project as string | undefined) ?? env.CLOUDSDK_CORE_PROJECT;
  const gcpRegion = (ctx.options['gcp-region'] as string | undefined) ?? spec.region;
  const missing = [
    ...(ctx.options.stage ? [] : ['--stage <stage> (the osls stage)']),
    ...(region ? [] : ['--region <AWS region> (or AWS_REGION)']),
    ...(project ? [] : ['--project <Google project> (or CLOUDSDK_CORE_PROJECT)']),
    ...(gcpRegion ? [] : ["--gcp-region <region> (or gcp.yml's region)"]),
  ];
  if (missing.length > 0) throw new UsageError(`doctor --target cloud needs ${missing.join(', ')}`);
  const google = new GoogleAuth({ scopes: [CLOUD_PLATFORM] });
  return {
    kind: 'cloud',
    policy,
    relayMaxLagSeconds: spec.relayMaxLagSeconds,
    now: async () => Date.now(),
    aws: {
      region: region as string,
      stage,
      credentials: defaultChainCredentials(region as string),
      intake: ctx.options['aws-intake'] as string | undefined,
    },
    gcp: {
      project: project as string,
      region: gcpRegion as string,
      accessToken: async () => (await (await google.getClient()).getAccessToken()).token ?? '',
      intake: ctx.options['gcp-intake'] as string | undefined,
      apis: spec.apis,
      kmsKey: spec.kmsKey,
      relaySubscriptions: spec.relaySubscriptions,
    },
  };
}

export const doctorCommands: Command[] = [
  {
    noun: 'doctor',
    verb: '',
    args: '',
    summary: 'read-only checks of both clouds: one line each, ok or FAIL with the fix; exit 0 healthy, 1 not',
    example: 'crosslink doctor --target cloud --stage prod --region us-east-1 --project net-prod',
    options: {
      stage: { type: 'string', description: 'the AWS stage (osls --stage; default dev locally)' },
      region: { type: 'string', description: 'the AWS region of the stack (cloud; default AWS_REGION)' },
      project: { type: 'string', description: 'the Google project (cloud; default CLOUDSDK_CORE_PROJECT)' },
      'gcp-region': { type: 'string', description: "the Google region (cloud; default gcp.yml's)" },
      'gcp-config': { type: 'string', description: 'gcp.yml (default ./gcp.yml, else the shipped one)' },
      'aws-intake': { type: 'string', description: 'the AWS intake URL (cloud: the stack output IntakeUrl)' },
      'gcp-intake': {
        type: 'string',
        description: "the Google intake URL (cloud: the intake function's URL)",
      },
    },
    async run(ctx) {
      const results: CheckResult[] = await runDoctor(await target(ctx));
      if (ctx.global.json)
        ctx.io.out(JSON.stringify({ ok: results.every((r) => r.ok), checks: results }, null, 2));
      else for (const r of results) ctx.io.out(checkLine(r));
      return results.every((r) => r.ok) ? EXIT.ok : 1;
    },
  },
];
