#!/usr/bin/env node
/**
 * `scripts/deploy-gcp`: converges a Google project to a gcp.yml (docs/deploy-gcp.md).
 *
 *   scripts/deploy-gcp --project my-project [--config gcp.yml] [--region us-east4]
 *                      [--dry-run] [--prune] [--build-dir .crosslink/gcp-build]
 *                      [--from-aws-stack crosslink-<stage> [--aws-region <r>] | --from-aws-file <json>]
 *                      [--aws-env-out <file>]
 *
 * `${env:NAME}` values of gcp.yml (push endpoints, function environment) come from this process's
 * environment; an unset one is refused before anything runs.
 *
 * Exit codes: 0 done (or nothing to do), 1 a gcloud command failed (the line says which; what ran
 * before it stays, and a rerun continues from there), 2 usage or an invalid gcp.yml.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Issue, ValidationError } from '#core/errors.ts';
import { type GcpConfig, loadGcpConfig } from '#deployment/gcp-config.ts';
import {
  substituteAwsPublishers,
  substituteEndpoints,
  substituteFunctionVariables,
} from '#deployment/gcp-config-substitute.ts';
import { defaultChainCredentials } from './cli/intake-client.ts';
import {
  type AwsAccess,
  describeStackOutputs,
  kmsPublicKeyPem,
  readOutputsFile,
  variablesFromOutputs,
} from './gcp-deploy/aws-stack.ts';
import { writeAwsValues } from './gcp-deploy/aws-values.ts';
import { deployGcp } from './gcp-deploy/converge.ts';
import { type Gcloud, GcloudError, spawnGcloud } from './gcp-deploy/gcloud.ts';
import { googleHalfIssues } from './gcp-deploy/google-half.ts';

export interface DeployIo {
  gcloud?: Gcloud;
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
  cwd?: string;
  env?: Record<string, string | undefined>;
}

const USAGE =
  'usage: scripts/deploy-gcp --project <id> [--config gcp.yml] [--region <region>] [--dry-run] [--prune] [--build-dir <dir>] [--from-aws-stack <name> [--aws-region <r>] | --from-aws-file <json>] [--aws-env-out <file>]';

/**
 * gcp.yml with its `${env:NAME}` values filled in from `env`, checked for what the Google half
 * needs (gcp-deploy/google-half.ts); throws one ValidationError with every problem.
 */
function withVariables(loaded: GcpConfig, env: Record<string, string | undefined>): GcpConfig {
  const issues: Issue[] = [];
  const collect = <T>(f: () => T, fallback: T): T => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      issues.push(...e.issues);
      return fallback;
    }
  };
  const functions = collect(() => substituteFunctionVariables(loaded, env), loaded);
  const endpoints = collect(() => substituteEndpoints(functions, env).config, functions);
  const config = collect(() => substituteAwsPublishers(endpoints, env), endpoints);
  if (issues.length === 0) issues.push(...googleHalfIssues(config));
  if (issues.length > 0) throw new ValidationError(issues, loaded.file ?? 'gcp.yml');
  return config;
}

/** gcp.yml's variables from the AWS stack (`--from-aws-stack`) or its outputs' JSON (`--from-aws-file`). */
async function awsVariables(
  values: { 'from-aws-stack'?: string; 'from-aws-file'?: string },
  region: string | undefined,
  env: Record<string, string | undefined>,
): Promise<Record<string, string>> {
  const stack = values['from-aws-stack'];
  if (stack) {
    const aws: AwsAccess = {
      region: region as string,
      ...(env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {}),
      credentials:
        env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
          ? {
              accessKeyId: env.AWS_ACCESS_KEY_ID,
              secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
              ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
            }
          : defaultChainCredentials(region as string),
    };
    const outputs = await describeStackOutputs(stack, aws);
    const variables = variablesFromOutputs(outputs, `--from-aws-stack ${stack}`);
    return {
      ...variables,
      CROSSLINK_PEER_PUBLIC_KEY_PEM: await kmsPublicKeyPem(variables.CROSSLINK_PEER_KEY_ID as string, aws),
    };
  }
  const file = values['from-aws-file'];
  return file ? variablesFromOutputs(readOutputsFile(file), `--from-aws-file ${file}`) : {};
}

export async function main(argv: string[], io: DeployIo = {}): Promise<number> {
  const out = io.stdout ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = io.stderr ?? ((l: string) => process.stderr.write(`${l}\n`));
  const cwd = io.cwd ?? process.cwd();
  const env = io.env ?? process.env;
  let values: {
    config?: string;
    project?: string;
    region?: string;
    'dry-run'?: boolean;
    prune?: boolean;
    'build-dir'?: string;
    'from-aws-stack'?: string;
    'from-aws-file'?: string;
    'aws-region'?: string;
    'aws-env-out'?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        project: { type: 'string' },
        region: { type: 'string' },
        'dry-run': { type: 'boolean' },
        prune: { type: 'boolean' },
        'build-dir': { type: 'string' },
        'from-aws-stack': { type: 'string' },
        'from-aws-file': { type: 'string' },
        'aws-region': { type: 'string' },
        'aws-env-out': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    err((e as Error).message);
    err(USAGE);
    return 2;
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const project = values.project ?? env.CLOUDSDK_CORE_PROJECT ?? env.GOOGLE_CLOUD_PROJECT;
  if (!project) {
    err('--project: required (or set CLOUDSDK_CORE_PROJECT): the Google project to converge');
    return 2;
  }
  if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(project)) {
    err(`--project: must be a Google project id (6-30 lowercase letters, digits, hyphens), got ${project}`);
    return 2;
  }
  const file = resolve(cwd, values.config ?? 'gcp.yml');
  if (!existsSync(file)) {
    err(`--config: ${values.config ?? 'gcp.yml'} does not exist`);
    return 2;
  }
  if (values['from-aws-stack'] && values['from-aws-file']) {
    err('--from-aws-stack and --from-aws-file: give one');
    return 2;
  }
  const awsRegion = values['aws-region'] ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (values['from-aws-stack'] && !awsRegion) {
    err("--aws-region: required with --from-aws-stack (or set AWS_REGION): the stack's region");
    return 2;
  }
  try {
    // `${env:NAME}` values (the AWS relay route and role, the peer's public key) come from the
    // AWS stack's outputs when asked, and from the environment, which wins.
    const fromAws = await awsVariables(values, awsRegion, env);
    const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
    const config = withVariables(loadGcpConfig(file), { ...fromAws, ...given });
    const result = await deployGcp({
      config,
      project,
      region: values.region,
      gcloud: io.gcloud ?? spawnGcloud(),
      dryRun: values['dry-run'] ?? false,
      prune: values.prune ?? false,
      buildDir: resolve(cwd, values['build-dir'] ?? '.crosslink/gcp-build'),
      cwd,
      out: values['dry-run'] ? out : (line) => out(`+ ${line}`),
      note: (line) => err(`note: ${line}`),
    });
    const n = result.commands.length;
    if (n === 0) err(`nothing to do: project ${project} matches ${values.config ?? 'gcp.yml'}`);
    else err(values['dry-run'] ? `${n} command(s) would run (dry run)` : `${n} command(s) ran`);
    const envOut = values['aws-env-out'];
    if (envOut && values['dry-run']) err(`note: --aws-env-out ${envOut}: written by a run, not a dry run`);
    else if (envOut) {
      const buildDir = resolve(cwd, values['build-dir'] ?? '.crosslink/gcp-build');
      await writeAwsValues({
        config,
        project,
        region: values.region ?? config.region ?? '',
        gcloud: io.gcloud ?? spawnGcloud(),
        file: resolve(cwd, envOut),
        workDir: resolve(buildDir, 'aws-values'),
      });
      err(`${envOut}: Google's values for the AWS half's second deploy (set -a; . ${envOut}; set +a)`);
    }
    return 0;
  } catch (e) {
    if (e instanceof ValidationError) {
      for (const i of e.issues) err(`${values.config ?? 'gcp.yml'}: ${i.path || '(root)'}: ${i.reason}`);
      return 2;
    }
    if (e instanceof GcloudError) {
      err(e.message);
      return 1;
    }
    err(`error: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
