#!/usr/bin/env node
/**
 * `npm start`: boots the local cloud, deploys the AWS half (serverless.yml, packaged by `osls
 * package` only when its inputs changed) into it, prints its endpoints and time to ready, writes
 * the handshake `.crosslink/local.json` (docs/architecture.md, "Local cloud handshake") once everything answers, and removes it on
 * exit. Ctrl-C / SIGTERM stop every edge and child process group; so does a SIGKILL of npm start
 * (this process exits when a process above it ends, and the reaper stops the groups it started).
 *
 *   npm start [-- --clock manual|scaled] [--scale 60] [--seed 1] [--region us-east-1] [--no-aws-half]
 *             [--estate config/local-estate.yaml | --no-estate]
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { enableCompileCache, flushCompileCache } from 'node:module';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Estate } from '#local/estate.ts';
import type { LocalCloud } from '#local/index.ts';

const ROOT = resolve(import.meta.dirname, '..');
// Node's compile cache for this process's modules (the local cloud's TypeScript, the SDKs it
// loads): compiled at the first start, read back at the next (half the CPU of loading them). Node
// keys each entry by its source's hash and its own version. Enabled before anything else loads,
// hence the imports below are dynamic. The local cloud's other caches sit beside it.
enableCompileCache(join(ROOT, '.crosslink', 'cache', 'node'));
const { ValidationError } = await import('#core/errors.ts');
const { loadGcpConfig } = await import('#deployment/gcp-config.ts');
const { DEFAULT_ESTATE_FILE, EstateError, loadEstate } = await import('#local/estate.ts');
const { startLocalCloud } = await import('#local/index.ts');
const { pidAlive } = await import('#local/processes.ts');
const HANDSHAKE_DIR = resolve(process.env.CROSSLINK_HOME ?? ROOT, '.crosslink');
const HANDSHAKE = resolve(HANDSHAKE_DIR, 'local.json');

function existingCloud(): number | undefined {
  if (!existsSync(HANDSHAKE)) return undefined;
  try {
    const pid = (JSON.parse(readFileSync(HANDSHAKE, 'utf8')) as { pid?: number }).pid;
    return typeof pid === 'number' && pid !== process.pid && pidAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      clock: { type: 'string' },
      scale: { type: 'string' },
      seed: { type: 'string' },
      region: { type: 'string' },
      'gcp-config': { type: 'string' },
      'no-aws-half': { type: 'boolean' },
      estate: { type: 'string' },
      'no-estate': { type: 'boolean' },
    },
    strict: true,
  });
  if (values.clock !== undefined && values.clock !== 'manual' && values.clock !== 'scaled') {
    process.stderr.write('--clock must be manual or scaled\n');
    return 2;
  }
  const scale = values.scale === undefined ? undefined : Number(values.scale);
  if (scale !== undefined && !(scale > 0)) {
    process.stderr.write('--scale must be a positive number\n');
    return 2;
  }
  // The Google wiring: --gcp-config, or ./gcp.yml when the project has one; reloaded on change.
  const gcpConfig = values['gcp-config'] ?? (existsSync('gcp.yml') ? 'gcp.yml' : undefined);
  if (values['gcp-config'] !== undefined && !existsSync(values['gcp-config'])) {
    process.stderr.write(`--gcp-config: ${values['gcp-config']} does not exist\n`);
    return 2;
  }
  // An invalid file is refused before anything starts (every problem, one line each: exit 2).
  if (gcpConfig !== undefined) loadGcpConfig(gcpConfig);
  // The estate link requests name (Direct Connect gateways, network projects): local/estate.ts.
  const estateFile = values['no-estate'] ? undefined : (values.estate ?? DEFAULT_ESTATE_FILE);
  if (estateFile !== undefined && !existsSync(estateFile)) {
    process.stderr.write(`--estate: ${estateFile} does not exist\n`);
    return 2;
  }
  let estate: Estate | undefined;
  try {
    estate = estateFile === undefined ? undefined : loadEstate(estateFile);
  } catch (err) {
    if (!(err instanceof EstateError)) throw err;
    process.stderr.write(`--estate: ${err.message}\n`);
    return 2;
  }
  const running = existingCloud();
  if (running !== undefined) {
    process.stderr.write(`a local cloud is already running (pid ${running}, ${HANDSHAKE}); stop it first\n`);
    return 1;
  }

  let cloud: LocalCloud | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      process.stdout.write(`\n${signal}: stopping the local cloud\n`);
      try {
        await cloud?.stop();
      } finally {
        removeHandshake();
      }
    })();
    return stopping;
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      void stop(sig).then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`stop failed: ${(err as Error).message}\n`);
          process.exit(1);
        },
      );
    });
  }
  process.on('exit', removeHandshake);
  // A supervisor (or a CI timeout) that SIGKILLs `npm start` kills npm alone, and this process (under
  // npm's `sh -c`, which stays alive) would run on. It exits at once when any process above it
  // ends; the reaper (local/reaper.ts) then stops every process group it started.
  const above = ancestors();
  setInterval(() => {
    if (above.some((a) => !sameProcess(a))) process.exit(1);
  }, 250).unref();

  cloud = await startLocalCloud({
    ...(values.clock
      ? { clock: { mode: values.clock as 'manual' | 'scaled', ...(scale ? { scale } : {}) } }
      : {}),
    ...(!values.clock && scale ? { clock: { scale } } : {}),
    ...(values.seed ? { seed: Number(values.seed) } : {}),
    ...(values.region ? { region: values.region } : {}),
    gcp: { keysDir: join(HANDSHAKE_DIR, 'keys') },
    emulators: true,
    // Each Google function's instance starts at its first request, as Cloud Run starts one (its
    // default of no minimum instances): ready does not wait for processes no request has reached
    // (docs/performance.md "`npm start`").
    ...(gcpConfig ? { gcpConfig, watchGcpConfig: true, functionInstances: 'request' as const } : {}),
    // Without the AWS half, what gcp.yml's `${env:NAME}` values would take from it (its relay
    // route, its sealing key) come from this process's environment, as deploy-gcp takes them.
    ...(values['no-aws-half']
      ? { gcpVariables: fromEnvironment(AWS_HALF_VARIABLES) }
      : { awsHalf: { repoDir: ROOT } }),
    ...(estate ? { estate } : {}),
  });
  const handshake = cloud.handshake();
  // What this start compiled is written now, not only at exit (a SIGKILL skips the exit's write).
  flushCompileCache();
  mkdirSync(HANDSHAKE_DIR, { recursive: true });
  const tmp = `${HANDSHAKE}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(handshake, null, 2)}\n`);
  renameSync(tmp, HANDSHAKE);
  const readyMs = Math.round(performance.now());
  const c = handshake.clock;
  process.stdout.write(
    [
      'crosslink local cloud',
      `  aws      ${handshake.aws.endpoint}  (region ${handshake.aws.region}, account ${handshake.aws.accountId})`,
      `  admin    ${handshake.admin}`,
      `  clock    ${c.mode}${c.mode === 'scaled' ? ` x${c.scale}` : ''}`,
      `  gcp      ${cloud.gcp.endpoint}  (project ${cloud.gcp.project}, region ${cloud.gcp.region}; key files in ${join(HANDSHAKE_DIR, 'keys')})`,
      `  pubsub   ${handshake.pubsubEmulatorHost}  (emulator; push proxy signs OIDC tokens)`,
      `  firestore ${handshake.firestoreEmulatorHost}  (emulator)`,
      ...(cloud.awsHalf
        ? [
            `  intake   ${handshake.intakes.aws}  (AWS half from serverless.yml: HTTP API, IAM auth; ${cloud.awsHalf.deployment.stack.functions.length} functions, ${cloud.awsHalf.deployment.stack.stateMachines.length} state machines, ${cloud.awsHalf.deployment.stack.rules.length} rules)`,
          ]
        : []),
      ...(cloud.plumbing
        ? [
            ...(handshake.intakes.gcp
              ? [
                  `  intake   ${handshake.intakes.gcp}  (Google half from gcp.yml: HTTP function, IAM invoker auth)`,
                ]
              : []),
            `  gcp.yml  ${gcpConfig}: ${cloud.plumbing.config.functions.length} functions, ${cloud.plumbing.config.workflows.length} workflows, ${cloud.plumbing.config.topics.length} topics, ${cloud.plumbing.config.schedulerJobs.length} scheduler jobs, ${cloud.plumbing.config.logSinks.length} log sinks (reloaded on change; each function's instance starts at its first request)`,
            ...cloud.plumbing.functions.deployments().map((f) => `    ${f.spec.name.padEnd(20)} ${f.url}`),
          ]
        : []),
      ...(estate
        ? [
            `  estate   ${estateFile}: ${estate.aws.directConnectGateways.length} Direct Connect gateways, ${estate.gcp.networkProjects.length} network projects (${estate.gcp.networkProjects.map((n) => n.project).join(', ') || 'none'})`,
          ]
        : []),
      `  handshake ${HANDSHAKE}`,
      `ready in ${readyMs} ms (pid ${process.pid}); Ctrl-C to stop`,
      '',
    ].join('\n'),
  );
  return 0;
}

interface ProcessId {
  pid: number;
  /** The start time from /proc (so that a reused pid is not taken for the same process). */
  started: string | undefined;
}

/** pid, parent pid, state and start time from /proc/<pid>/stat (Linux); undefined elsewhere or gone. */
function stat(pid: number): { ppid: number; state: string; started: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', ppid: Number(fields[1]), started: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** Every process above this one, up to (not including) init; just the parent where /proc is absent. */
function ancestors(): ProcessId[] {
  if (!stat(process.pid)) return [{ pid: process.ppid, started: undefined }];
  const found: ProcessId[] = [];
  for (let pid = process.ppid; pid > 1; ) {
    const s = stat(pid);
    if (!s) break;
    found.push({ pid, started: s.started });
    pid = s.ppid;
  }
  return found;
}

function sameProcess(p: ProcessId): boolean {
  if (p.started === undefined) return process.ppid === p.pid;
  const s = stat(p.pid);
  return s !== undefined && s.state !== 'Z' && s.started === p.started;
}

function removeHandshake(): void {
  try {
    const pid = (JSON.parse(readFileSync(HANDSHAKE, 'utf8')) as { pid?: number }).pid;
    if (pid === process.pid) rmSync(HANDSHAKE, { force: true });
  } catch {
    // Not ours or already gone.
  }
}

/** What the AWS half gives gcp.yml when it runs beside it. */
const AWS_HALF_VARIABLES = [
  'CROSSLINK_AWS_RELAY_URL',
  'CROSSLINK_AWS_RELAY_ROLE_ARN',
  'CROSSLINK_PEER_PUBLIC_KEY_PEM',
  'CROSSLINK_PEER_KEY_ID',
  'CROSSLINK_INSTALLATION',
];

function fromEnvironment(names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((n) => (process.env[n] ? [[n, process.env[n]]] : [])));
}

main().then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    removeHandshake();
    // An invalid input (gcp.yml, its variables): one line per problem, exit 2.
    if (err instanceof ValidationError) {
      for (const line of err.lines()) process.stderr.write(`npm start: ${line}\n`);
      process.exit(2);
    }
    process.stderr.write(`npm start failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
