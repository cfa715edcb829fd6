/**
 * Both halves of crosslink in one local cloud, as `npm start` runs them: serverless.yml deployed into
 * the simulated AWS, the root gcp.yml wired on the Google edge and the real emulators, the relay in
 * both directions, the estate of config/local-estate.yaml, on the manual clock, which a driver
 * (clock-driver.ts) jumps to the next timer whenever nothing runs in wall time; the deployed
 * functions' `Date` follows it. The CLI runs in-process from a home whose handshake is this cloud's,
 * with the Google key files of the people who sign.
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, type TestContext } from 'vitest';
import type { FunctionConcurrency } from '#local/aws/lambda/runtime.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { HostedFunction } from '#local/gcp/functions-host.ts';
import type { LocalCloud, LocalCloudOptions } from '#local/index.ts';
import { type CliRun, cliAgainst } from './cli.ts';
import { type ClockDriver, type ClockDriverOptions, type ClockTimes, driveClock } from './clock-driver.ts';
import { hubIdentities, startTestCloud } from './local-cloud.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const AWS_FIRST = join(ROOT, 'examples', 'link-request.yaml');
export const GOOGLE_FIRST = join(ROOT, 'examples', 'link-request-gcp.yaml');
/** The same flows in the policy's other region pairs, from the same hub. */
export const OREGON_GOOGLE_FIRST = join(ROOT, 'examples', 'link-request-oregon-gcp.yaml');
export const FRANKFURT_AWS_FIRST = join(ROOT, 'examples', 'link-request-frankfurt.yaml');

export interface BothHalves {
  cloud: LocalCloud;
  home: string;
  /** `crosslink ...` in-process; `json(...)` parses the output of a `--json` run that must exit 0. */
  cli: (...args: string[]) => Promise<CliRun>;
  json: <T = unknown>(...args: string[]) => Promise<T>;
  /** Every line the Google functions and the AWS Lambdas wrote. */
  output: () => string;
  /** Jumps the manual clock whenever the system is idle. */
  driver: ClockDriver;
  stop: () => Promise<void>;
}

export async function startBothHalves(
  options: LocalCloudOptions = {},
  drive: ClockDriverOptions = {},
): Promise<BothHalves> {
  const cloud = await startTestCloud({
    clock: { mode: 'manual', start: Math.floor(Date.now() / 1000) * 1000 },
    emulators: true,
    gcpConfig: join(ROOT, 'gcp.yml'),
    awsHalf: { repoDir: ROOT },
    estate: join(ROOT, 'config', 'local-estate.yaml'),
    ...options,
  });
  const run = cliAgainst(cloud, 'crosslink-both-');
  cpSync(join(ROOT, 'config'), join(run.home, 'config'), { recursive: true });
  // The identities as this cloud has them: the hub's service accounts in its (leased) project.
  writeFileSync(join(run.home, 'config', 'local-identities.yaml'), hubIdentities(cloud.gcp.project));
  mkdirSync(join(run.home, '.crosslink', 'keys'), { recursive: true });
  for (const who of ['alice', 'carol', 'admin'])
    writeFileSync(
      join(run.home, '.crosslink', 'keys', `${who}.json`),
      JSON.stringify(cloud.gcp.auth.keyFile(who)),
    );
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await run.cli(...args, '--json');
    if (r.code !== 0) throw new Error(`crosslink ${args.join(' ')} exited ${r.code}: ${r.err}`);
    return JSON.parse(r.out) as T;
  };
  const driver = driveClock(cloud.clock, drive);
  return {
    cloud,
    home: run.home,
    cli: run.cli,
    json,
    output: () => outputOf(cloud),
    driver,
    stop: async () => {
      await driver.stop();
      // Where the driven clock's time went, and how many of each function ran at once (bench/lifecycle.ts).
      const timesFile = process.env.CROSSLINK_E2E_TIMES;
      if (timesFile) writeFileSync(timesFile, JSON.stringify(timesOf(cloud, driver)));
      run.remove();
      await cloud.stop();
    },
  };
}

/** What a run of both halves cost: the driven clock's accounting, each function's concurrency. */
export interface E2eTimes {
  clock: ClockTimes;
  lambda: Record<string, FunctionConcurrency>;
  google: Record<string, HostedFunction['load']>;
}

function timesOf(cloud: LocalCloud, driver: ClockDriver): E2eTimes {
  const runtime = lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, cloud.aws.region);
  return {
    clock: driver.times(),
    lambda: Object.fromEntries(runtime.concurrency),
    google: Object.fromEntries((cloud.plumbing?.functions.list() ?? []).map((f) => [f.spec.name, f.load])),
  };
}

/** What every function of both halves wrote (Lambda logs, then each Google function's), then Google IAM's refusals. */
export function outputOf(cloud: LocalCloud): string {
  const lambda = cloud.awsHalf ? awsLines(cloud) : [];
  const google = (cloud.plumbing?.functions.list() ?? []).flatMap((f) => f.output);
  const refused = cloud.gcp.iam
    .refused()
    .map((r) => `Google IAM refused ${r.principal} ${r.permission} on ${r.resource}`);
  return [...lambda, ...google, ...refused].join('\n');
}

function awsLines(cloud: LocalCloud): string[] {
  return lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, cloud.aws.region).logs.map((l) => l.line);
}

/**
 * Runs `crosslink ...` until it exits 0 (a replica the relay has not delivered yet answers 4), a
 * second apart, for at most `timeoutMs` of wall time (within a test's 120 s, so a failure names
 * what it waited for); returns the last run.
 */
export async function untilOk(cli: BothHalves['cli'], args: string[], timeoutMs = 100_000): Promise<CliRun> {
  const end = Date.now() + timeoutMs;
  let last: CliRun = { code: -1, out: '', err: '' };
  do {
    last = await cli(...args);
    if (last.code === 0) return last;
    await new Promise((r) => setTimeout(r, 1000));
  } while (Date.now() < end);
  return last;
}

/** Polls `fn` every `everyMs` until it is truthy; throws its last error or a timeout naming `what`. */
export async function waitFor<T>(what: string, fn: () => Promise<T>, timeoutMs = 100_000, everyMs = 500) {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end)
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * `link decommission <id> ...asker`, then, once the approver's intake knows of the request (the relay
 * carries it when the approver is on the other cloud; until then `approve` would approve the ACTIVE
 * link itself, a no-op), `link approve <id> ...approver --wait`, which must exit 0.
 */
/** `link show <id> --side <side> --as <who> --json`: the link as that side's intake records it. */
export function linkOn<T>(b: BothHalves, id: string, side: 'aws' | 'gcp', who: string): Promise<T> {
  return b.json<T>('link', 'show', id, '--side', side, '--as', who);
}

export async function decommissionThroughCli(b: BothHalves, id: string, asker: string[], approver: string[]) {
  const asked = await b.cli('link', 'decommission', id, ...asker);
  expect(asked.code, asked.err).toBe(0);
  const side: 'aws' | 'gcp' = approver.includes('gcp') ? 'gcp' : 'aws';
  const who = approver[approver.indexOf('--as') + 1] as string;
  await waitFor(`the decommission request on ${side}`, async () => {
    const view = await linkOn<{ decommission?: { status: string } }>(b, id, side, who);
    return view.decommission?.status === 'PENDING';
  });
  const approved = await untilOk(b.cli, ['link', 'approve', id, ...approver, '--wait', '--timeout', '8h']);
  expect(approved.code, approved.err).toBe(0);
  // `--wait` saw one side's record; the other follows through the relay.
  await waitFor(`${id} DECOMMISSIONED on both sides`, async () => {
    const [aws, gcp] = await Promise.all([
      linkOn<{ state: string }>(b, id, 'aws', 'bob'),
      linkOn<{ state: string }>(b, id, 'gcp', 'carol'),
    ]);
    return aws?.state === 'DECOMMISSIONED' && gcp?.state === 'DECOMMISSIONED';
  });
}

interface SimStatus {
  aws: {
    accounts: Record<
      string,
      Record<
        string,
        { interconnect?: { connections: { id: string; state: string; description?: string }[] } }
      >
    >;
  };
  gcp: {
    projects: Record<
      string,
      { networkconnectivity?: { transports: { name: string; state: string; deleting?: boolean }[] } }
    >;
  };
}

/** AWS states in which a connection no longer bills (the others do, `down` included). */
const GONE = new Set(['deleted', 'deleting']);

/**
 * What the simulated clouds hold for link `id`, read with `crosslink sim status`: its connections
 * (description `crosslink <id>`, with the region that holds each) and transports (named after the link), and those still billing.
 */
export async function resourcesOf(b: BothHalves, id: string) {
  const status = await b.json<SimStatus>('sim', 'status');
  const connections = Object.values(status.aws.accounts)
    .flatMap((regions) => Object.entries(regions))
    .flatMap(([region, r]) => (r.interconnect?.connections ?? []).map((c) => ({ ...c, region })))
    .filter((c) => c.description === `crosslink ${id}`);
  const transports = Object.values(status.gcp.projects)
    .flatMap((p) => p.networkconnectivity?.transports ?? [])
    .filter((t) => t.name.endsWith(`/transports/${id}`));
  return {
    connections,
    transports,
    billing: [
      ...connections.filter((c) => !GONE.has(c.state)).map((c) => `${c.id} ${c.state}`),
      ...transports.filter((t) => !t.deleting).map((t) => `${t.name} ${t.state}`),
    ],
  };
}

/** On a test's failure, both halves' function output goes to a file the failure names (the console keeps little). */
export function dumpOnFailure(ctx: TestContext, b: BothHalves, name: string): void {
  ctx.onTestFailed(() => {
    const file = join(tmpdir(), `crosslink-e2e-${name}-${Date.now()}.log`);
    writeFileSync(file, b.output());
    console.error(`function output of both halves: ${file}`);
  });
}
