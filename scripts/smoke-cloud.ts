#!/usr/bin/env node
/**
 * `npm run smoke:cloud`: the runbook (docs/deploy.md) against the real clouds, end to end, opt-in
 * and never in CI. It deploys both halves to a named stage, runs doctor, requests one link (a
 * request the policy auto-approves, e.g. nonprod) up to its first provider state on both sides (the
 * AWS connection requested, the Google transport PENDING_KEY), decommissions it, and tears
 * everything down. It spends money (docs/deploy.md "Smoke test on the real clouds": what and how long), so it
 * refuses to start without its settings, all explicit:
 *
 *   CROSSLINK_SMOKE_STAGE        the osls stage (letters and digits, e.g. smoke1): a stack of its own
 *   CROSSLINK_SMOKE_AWS_REGION   the AWS region of the stack (a region of config/policy.yaml)
 *   CROSSLINK_SMOKE_GCP_PROJECT  a Google project to deploy into and then clear
 *   CROSSLINK_SMOKE_REQUEST      the link request file (its accounts, networks and gateway exist)
 *   CROSSLINK_SMOKE_CONFIRM      exactly `spend-money-on-<stage>`
 * and AWS credentials (AWS_PROFILE or AWS_ACCESS_KEY_ID) and Google ones
 * (GOOGLE_APPLICATION_CREDENTIALS or CLOUDSDK_AUTH_ACCESS_TOKEN) named in the environment. `--plan`
 * prints the commands it would run and runs none.
 *
 * Exit codes: 0 done, 1 a step failed (the teardown steps still run), 2 refused (settings).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGcpConfig } from '#deployment/gcp-config.ts';
import { defaultChainCredentials } from './cli/intake-client.ts';
import { describeStackOutputs } from './gcp-deploy/aws-stack.ts';

export interface SmokeSettings {
  stage: string;
  awsRegion: string;
  gcpProject: string;
  request: string;
}

export interface SmokeStep {
  name: string;
  command: string[];
  env?: Record<string, string>;
  /** A teardown step: runs even after a failure. */
  always?: boolean;
  /**
   * The link step: the request's id is read from its JSON, then `link show` is polled until both
   * halves left NONE (the AWS connection requested, the Google transport PENDING_KEY), then the
   * link is decommissioned (`--wait`).
   */
  link?: boolean;
}

/** The settings, or every reason they are refused (one line each). */
export function smokeSettings(
  env: Record<string, string | undefined>,
): SmokeSettings | { refused: string[] } {
  const refused: string[] = [];
  if (env.CI)
    refused.push('CI is set: the smoke test never runs in CI (it deploys to real accounts and spends money)');
  const need = (name: string, re: RegExp, what: string) => {
    const v = env[name];
    if (!v) refused.push(`${name}: required (${what})`);
    else if (!re.test(v)) refused.push(`${name}: must be ${what}, got "${v.slice(0, 60)}"`);
    return v ?? '';
  };
  const stage = need(
    'CROSSLINK_SMOKE_STAGE',
    /^[a-z][a-z0-9]{1,15}$/,
    'a stage name of lower-case letters and digits',
  );
  const awsRegion = need(
    'CROSSLINK_SMOKE_AWS_REGION',
    /^[a-z]{2}(-[a-z]+)+-\d$/,
    'an AWS region such as us-east-1',
  );
  const gcpProject = need(
    'CROSSLINK_SMOKE_GCP_PROJECT',
    /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
    'a Google project id',
  );
  const request = need('CROSSLINK_SMOKE_REQUEST', /\.(ya?ml|json)$/, 'a link request file (.yaml or .json)');
  if (stage && env.CROSSLINK_SMOKE_CONFIRM !== `spend-money-on-${stage}`)
    refused.push(
      `CROSSLINK_SMOKE_CONFIRM: must be exactly spend-money-on-${stage} (this run deploys to real accounts and pays for it)`,
    );
  if (!env.AWS_PROFILE && !env.AWS_ACCESS_KEY_ID)
    refused.push(
      'AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID (the default chain is not guessed here)',
    );
  if (!env.GOOGLE_APPLICATION_CREDENTIALS && !env.CLOUDSDK_AUTH_ACCESS_TOKEN)
    refused.push('Google credentials: set GOOGLE_APPLICATION_CREDENTIALS or CLOUDSDK_AUTH_ACCESS_TOKEN');
  return refused.length > 0 ? { refused } : { stage, awsRegion, gcpProject, request };
}

/** The runbook's commands for these settings, in order, the teardown last. */
export function smokePlan(s: SmokeSettings, workDir: string): SmokeStep[] {
  const aws = ['--stage', s.stage, '--region', s.awsRegion];
  const stack = `crosslink-${s.stage}`;
  const values = join(workDir, 'google-values.env');
  const teardown = join(workDir, 'teardown.yml');
  const gcp = ['npx', 'crosslink-deploy-gcp', '--project', s.gcpProject];
  return [
    {
      name: 'AWS, first phase',
      command: ['npx', 'osls', 'deploy', ...aws],
      env: { CROSSLINK_DEPLOY_PHASE: 'aws-first' },
    },
    {
      name: 'Google, from the AWS stack',
      command: [...gcp, '--from-aws-stack', stack, '--aws-region', s.awsRegion, '--aws-env-out', values],
    },
    {
      name: "AWS, second phase (Google's values)",
      command: ['bash', '-c', `set -a; . '${values}'; set +a; exec npx osls deploy ${aws.join(' ')}`],
    },
    {
      name: 'doctor',
      command: ['npx', 'crosslink', 'doctor', '--target', 'cloud', ...aws, '--project', s.gcpProject],
    },
    {
      name: 'a link up to its first provider state on both sides, then decommissioned',
      command: ['npx', 'crosslink', 'link', 'request', s.request, '--target', 'cloud', '--json'],
      link: true,
    },
    {
      name: 'Google teardown (--prune with nothing listed)',
      command: [...gcp, '--config', teardown, '--prune'],
      always: true,
    },
    { name: 'AWS teardown', command: ['npx', 'osls', 'remove', ...aws], always: true },
  ];
}

function run(
  command: string[],
  env: NodeJS.ProcessEnv,
  capture = false,
): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const [bin, ...args] = command as [string, ...string[]];
    const child = spawn(bin, args, { stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'], env });
    let stdout = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.on('error', () => resolve({ code: 127, stdout }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
  });
}

/** The link step (SmokeStep.link): request, wait for both halves' first provider state, decommission. */
async function linkStep(step: SmokeStep, env: NodeJS.ProcessEnv, log: (l: string) => void): Promise<number> {
  const requested = await run(step.command, env, true);
  if (requested.code !== 0) return requested.code;
  const id = (JSON.parse(requested.stdout) as { id: string }).id;
  log(`smoke:cloud: ${id} requested; waiting for both halves (up to 60 minutes)`);
  const end = Date.now() + 60 * 60_000;
  for (;;) {
    const shown = await run(
      ['npx', 'crosslink', 'link', 'show', id, '--target', 'cloud', '--json'],
      env,
      true,
    );
    const link =
      shown.code === 0 ? (JSON.parse(shown.stdout) as { halves?: Record<string, { state: string }> }) : {};
    if (link.halves && Object.values(link.halves).every((h) => h.state !== 'NONE')) break;
    if (Date.now() > end) {
      log(`smoke:cloud: ${id}: both halves not requested within 60 minutes`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 30_000));
  }
  const gone = await run(
    [
      'npx',
      'crosslink',
      'link',
      'decommission',
      id,
      '--target',
      'cloud',
      '--reason',
      'smoke test',
      '--wait',
      '--timeout',
      '2h',
    ],
    env,
  );
  return gone.code;
}

/** The intakes `--target cloud` calls: the stack's IntakeUrl and the Google intake function's URL. */
async function intakeUrls(s: SmokeSettings): Promise<Record<string, string>> {
  const region = s.awsRegion;
  const outputs = await describeStackOutputs(`crosslink-${s.stage}`, {
    region,
    credentials: async () => defaultChainCredentials(region)(),
  });
  const gcpRegion = loadGcpConfig('gcp.yml').region ?? 'us-east4';
  return {
    CROSSLINK_AWS_INTAKE_URL: outputs.IntakeUrl ?? '',
    CROSSLINK_GCP_INTAKE_URL: `https://${gcpRegion}-${s.gcpProject}.cloudfunctions.net/intake`,
  };
}

/** Runs one step for real: its command, or the link step (with the stack's intake URLs). */
async function runStep(
  step: SmokeStep,
  s: SmokeSettings,
  env: NodeJS.ProcessEnv,
  log: (l: string) => void,
): Promise<number> {
  if (!step.link) return (await run(step.command, env)).code;
  return linkStep(step, { ...env, ...(await intakeUrls(s)) }, log);
}

export async function main(
  argv: string[],
  io: {
    out: (l: string) => void;
    err: (l: string) => void;
    env: Record<string, string | undefined>;
    cwd: string;
    /** Runs a step, its exit code (default: for real); tests inject failures here. */
    runStep?: (step: SmokeStep, env: NodeJS.ProcessEnv, log: (l: string) => void) => Promise<number>;
  },
): Promise<number> {
  const settings = smokeSettings(io.env);
  if ('refused' in settings) {
    io.err('smoke:cloud refused (nothing ran):');
    for (const r of settings.refused) io.err(`  ${r}`);
    return 2;
  }
  const unknown = argv.filter((a) => a !== '--plan');
  if (unknown.length > 0) {
    io.err(`smoke:cloud: unknown argument ${unknown[0]} (only --plan)`);
    return 2;
  }
  const workDir = join(io.cwd, '.crosslink', `smoke-${settings.stage}`);
  const plan = smokePlan(settings, workDir);
  if (argv.includes('--plan')) {
    for (const s of plan)
      io.out(
        `${s.always ? '(always) ' : ''}${s.name}: ${Object.entries(s.env ?? {})
          .map(([k, v]) => `${k}=${v} `)
          .join('')}${s.command.join(' ')}`,
      );
    return 0;
  }
  const runOne = io.runStep ?? ((step, env, log) => runStep(step, settings, env, log));
  let failed: string | undefined;
  const teardownFailed: string[] = [];
  // Every step's failure, a thrown error included, is recorded and the teardown steps run anyway:
  // what the run made must not be left behind without a word.
  const attempt = async (step: SmokeStep, work: () => Promise<number>) => {
    let why: string | undefined;
    try {
      const code = await work();
      if (code !== 0) why = `exit ${code}`;
    } catch (e) {
      why = (e as Error).message?.split('\n')[0] ?? String(e);
    }
    if (why === undefined) return;
    io.err(`smoke:cloud: ${step.name} failed (${why})`);
    if (step.always) teardownFailed.push(`${step.name} (${why})`);
    else failed ??= step.name;
  };
  await attempt({ name: 'preparing the work directory', command: [] }, async () => {
    mkdirSync(workDir, { recursive: true });
    writeFileSync(join(workDir, 'teardown.yml'), 'version: 1\n');
    return 0;
  });
  for (const step of plan) {
    if (failed && !step.always) continue;
    io.err(`smoke:cloud: ${step.name}`);
    await attempt(step, () => runOne(step, { ...process.env, ...io.env, ...step.env }, io.err));
  }
  if (teardownFailed.length > 0)
    io.err(
      `smoke:cloud: the teardown failed: ${teardownFailed.join('; ')}: the stage ${settings.stage} may still hold resources in ${settings.awsRegion} and ${settings.gcpProject}; run that step again by hand (docs/deploy.md "Teardown")`,
    );
  io.err(
    failed
      ? `smoke:cloud: failed at ${failed}; the teardown ${teardownFailed.length > 0 ? 'was attempted' : 'ran'}`
      : teardownFailed.length > 0
        ? 'smoke:cloud: done, but the teardown failed'
        : 'smoke:cloud: done, torn down',
  );
  return failed || teardownFailed.length > 0 ? 1 : 0;
}

if (import.meta.main)
  process.exitCode = await main(process.argv.slice(2), {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    env: process.env,
    cwd: process.cwd(),
  });
