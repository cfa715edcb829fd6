/**
 * The Google half starts from what scripts/deploy-gcp deploys: the root gcp.yml deployed (against
 * the simulated gcloud) with the operator's variables, then every function run from the package
 * directory the deploy uploaded (`--source`), by functions-framework's own binary, with only what
 * Cloud Run gives it: its platform variables (K_SERVICE, K_REVISION, K_CONFIGURATION, PORT,
 * FUNCTION_TARGET, FUNCTION_SIGNATURE_TYPE) and the environment the deploy set. Each starts and
 * answers its health path (GET on the function, no dependency touched). A package run without a
 * variable gcp.yml requires stops at start with one line naming it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '#scripts/deploy-gcp.ts';
import { GcloudSim } from '../support/gcloud-sim.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const PROJECT = 'crosslink-test';
// Under the repository, so the packages' npm imports resolve from its node_modules (standing in
// for the buildpack's npm install).
const BUILD = join(ROOT, '.crosslink', `deploy-start-${process.pid}`);
const children: ChildProcess[] = [];
let sim: GcloudSim;

interface Deployed {
  name: string;
  source: string;
  entryPoint: string;
  environment: Record<string, string>;
}
let deployed: Deployed[] = [];

function freePort(): Promise<number> {
  return new Promise((ok) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => ok(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Runs a package as Cloud Run does; resolves with its port and output. */
async function run(fn: Deployed, environment: Record<string, string>) {
  const port = await freePort();
  const framework = createRequire(join(fn.source, 'package.json')).resolve(
    '@google-cloud/functions-framework',
  );
  const child = spawn(process.execPath, [join(dirname(framework), 'main.js')], {
    cwd: fn.source,
    env: {
      ...environment,
      K_SERVICE: fn.name,
      K_REVISION: `${fn.name}-00001-abc`,
      K_CONFIGURATION: fn.name,
      PORT: String(port),
      FUNCTION_TARGET: fn.entryPoint,
      FUNCTION_SIGNATURE_TYPE: 'http',
      PATH: dirname(process.execPath),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  return { port, child, exited, output: () => output };
}

/** GET on the function until it answers (the package is loading) or the process exits. */
async function health(port: number, exited: Promise<number | null>): Promise<Response> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  // A hang guard: eight packages loading at once on a busy 2-core runner take well over 20 s.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await fetch(`http://127.0.0.1:${port}/`);
    } catch (e) {
      if (gone || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

beforeAll(async () => {
  mkdirSync(BUILD, { recursive: true });
  // What gcp.yml needs to exist before it deploys: the activation key and the relay's pool.
  sim = new GcloudSim({ project: PROJECT, cwd: ROOT });
  sim.seedCryptoKey('us-east4', 'crosslink', 'activation');
  sim.seedPool('crosslink-aws', '210987654321');
  const err: string[] = [];
  const code = await main(['--project', PROJECT, '--config', 'gcp.yml', '--build-dir', BUILD], {
    gcloud: sim,
    stdout: () => {},
    stderr: (l) => err.push(l),
    cwd: ROOT,
    env: {
      CROSSLINK_AWS_RELAY_URL: 'https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/relay/google',
      CROSSLINK_AWS_RELAY_ROLE_ARN: 'arn:aws:iam::210987654321:role/crosslink-relay-to-google-dev',
      CROSSLINK_PEER_PUBLIC_KEY_PEM: generateKeyPairSync('rsa', { modulusLength: 2048 })
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString(),
      CROSSLINK_PEER_KEY_ID: 'arn:aws:kms:us-east-1:000000000000:key/3b5f0c6e-1d2a-4e5f-8a9b-0c1d2e3f4a5b',
      CROSSLINK_INTAKE_INVOKERS: 'user:alice@example.com',
      CROSSLINK_INSTALLATION: 'dev',
    },
  });
  expect(err.at(-1)).toMatch(/command\(s\) ran/);
  expect(code).toBe(0);
  deployed = [...sim.functions.entries()].map(([name, { json }]) => {
    const build = json.buildConfig as { entryPoint: string };
    const service = json.serviceConfig as { environmentVariables: Record<string, string> };
    const { LOG_EXECUTION_ID: _platform, ...environment } = service.environmentVariables;
    // The directory the deploy uploaded: its `--source`.
    const deploy = sim.calls.find((c) => c[0] === 'functions' && c[1] === 'deploy' && c[2] === name);
    const source = deploy?.find((a) => a.startsWith('--source='))?.slice('--source='.length);
    return { name, source: resolve(ROOT, source ?? ''), entryPoint: build.entryPoint, environment };
  });
}, 120_000);

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(BUILD, { recursive: true, force: true });
});

describe('the deployed Google functions', () => {
  it('are the thirteen functions of gcp.yml, each from its own package directory', () => {
    expect(deployed.map((d) => d.name).sort()).toEqual(
      [
        'dr-commanded',
        'dr-control',
        'dr-signals',
        'intake',
        'peer-events',
        'starter',
        'steps',
        'vpn-half',
        'vpn-inventory',
        'vpn-run',
        'vpn-run-events',
        'watcher',
        'watcher-audit',
      ].sort(),
    );
    for (const d of deployed) expect(d.source).toBe(join(BUILD, d.name));
  });

  it('each starts from its package with only the platform variables and its deployed environment, and answers GET with 200', async () => {
    const answers = await Promise.all(
      deployed.map(async (d) => {
        const r = await run(d, d.environment);
        const res = await health(r.port, r.exited).catch((e: Error) => {
          throw new Error(`${d.name}: ${e.message}: ${r.output()}`);
        });
        return { name: d.name, status: res.status, body: await res.json() };
      }),
    );
    expect(answers).toEqual(
      deployed.map((d) => ({
        name: d.name,
        status: 200,
        body: { function: d.entryPoint, status: 'serving' },
      })),
    );
  }, 120_000);

  it('a package run without a variable gcp.yml requires stops at start, one line naming it', async () => {
    const intake = deployed.find((d) => d.name === 'intake') as Deployed;
    const { CROSSLINK_PEER_KEY_ID: _dropped, ...environment } = intake.environment;
    const r = await run(intake, environment);
    expect(await r.exited).toBe(1);
    expect(r.output().trim().split('\n')).toEqual([
      'crosslink-gcp: environment variable CROSSLINK_PEER_KEY_ID not set (gcp.yml functions[].environment, set by scripts/deploy-gcp)',
    ]);
  }, 30_000);
});
