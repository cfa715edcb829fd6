/**
 * No placeholder reaches a cloud: serverless.yml takes Google's values from config/deploy-values.cjs,
 * which refuses a deploy without them (one line each, naming where each comes from) unless the
 * deploy says it is the first phase (`CROSSLINK_DEPLOY_PHASE=aws-first`), when they are empty and
 * the intake refuses links, naming why.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpApiEvent, type IntakeDeps, intake } from '#aws/intake.ts';
import { peerKey } from '#core/link/settings.ts';
import { AWS_HALF_INPUTS } from '#local/aws-half.ts';
import { REQUEST, stepHarness } from '../support/step-harness.ts';

const require = createRequire(import.meta.url);
const { resolve: deployValues } = require('../../config/deploy-values.cjs') as {
  resolve: (env: Record<string, string | undefined>) => Record<string, string>;
};

const PEM = '-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n';
const COMPLETE = {
  CROSSLINK_GCP_PROJECT: 'payments-prod',
  CROSSLINK_PEER_PUBLIC_KEY_PEM: PEM,
  CROSSLINK_PEER_KEY_ID:
    'projects/payments-prod/locations/us-east4/keyRings/crosslink/cryptoKeys/activation/cryptoKeyVersions/1',
  CROSSLINK_GCP_EXTERNAL_ACCOUNT: JSON.stringify({ type: 'external_account', audience: 'x' }),
};
const messageOf = (env: Record<string, string | undefined>) => {
  try {
    deployValues(env);
    return '';
  } catch (e) {
    return (e as Error).message;
  }
};

describe('config/deploy-values.cjs', () => {
  it('refuses a deploy without Google values: one line per missing value, naming where it comes from', () => {
    const lines = messageOf({}).split('\n');
    expect(lines[0]).toMatch(/incomplete .*CROSSLINK_DEPLOY_PHASE=aws-first/);
    expect(lines.slice(1).map((l) => l.split(':')[0])).toEqual([
      'CROSSLINK_GCP_PROJECT',
      'CROSSLINK_PEER_PUBLIC_KEY_PEM',
      'CROSSLINK_PEER_KEY_ID',
      'CROSSLINK_GCP_EXTERNAL_ACCOUNT',
    ]);
    expect(lines[2]).toMatch(/required \(Google's sealing key .*get-public-key/);
    const one = messageOf({ ...COMPLETE, CROSSLINK_PEER_KEY_ID: '' }).split('\n');
    expect(one.slice(1)).toEqual([expect.stringMatching(/^CROSSLINK_PEER_KEY_ID: required/)]);
  });

  it('gives every value, and the relay account from the project, when all are set', () => {
    expect(deployValues(COMPLETE)).toEqual({
      phase: 'complete',
      gcpProject: 'payments-prod',
      peerPublicKeyPem: PEM,
      peerKeyId: COMPLETE.CROSSLINK_PEER_KEY_ID,
      externalAccount: COMPLETE.CROSSLINK_GCP_EXTERNAL_ACCOUNT,
      relayServiceAccount: 'crosslink-relay@payments-prod.iam.gserviceaccount.com',
    });
  });

  it('allows them empty only in the first phase, and checks what is given in either', () => {
    expect(deployValues({ CROSSLINK_DEPLOY_PHASE: 'aws-first' })).toMatchObject({
      phase: 'aws-first',
      peerPublicKeyPem: '',
      peerKeyId: '',
      gcpProject: '',
      relayServiceAccount: '',
    });
    expect(messageOf({ CROSSLINK_DEPLOY_PHASE: 'first' })).toMatch(
      /CROSSLINK_DEPLOY_PHASE: must be one of aws-first, complete, got "first"/,
    );
    expect(messageOf({ ...COMPLETE, CROSSLINK_PEER_PUBLIC_KEY_PEM: 'set it at deploy' })).toMatch(
      /CROSSLINK_PEER_PUBLIC_KEY_PEM: must be a PEM public key/,
    );
    expect(messageOf({ CROSSLINK_DEPLOY_PHASE: 'aws-first', CROSSLINK_GCP_PROJECT: 'Bad_Project' })).toMatch(
      /CROSSLINK_GCP_PROJECT: must be a Google project id/,
    );
    expect(messageOf({ ...COMPLETE, CROSSLINK_GCP_EXTERNAL_ACCOUNT: '{}' })).toMatch(
      /CROSSLINK_GCP_EXTERNAL_ACCOUNT: must be an external_account/,
    );
  });

  it('serverless.yml has no placeholder default left', () => {
    const text = readFileSync('serverless.yml', 'utf8');
    expect(text).not.toMatch(/at deploy'/);
    for (const v of ['CROSSLINK_PEER_PUBLIC_KEY_PEM', 'CROSSLINK_PEER_KEY_ID', 'CROSSLINK_GCP_PROJECT'])
      expect(text).not.toContain(`\${env:${v}`);
  });
});

describe('osls package, as osls deploy packages', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'crosslink-values-'));
    for (const input of AWS_HALF_INPUTS) cpSync(input, join(dir, input), { recursive: true });
    symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const osls = (values: Record<string, string>) => {
    const env: Record<string, string | undefined> = { ...process.env, SLS_TELEMETRY_DISABLED: '1' };
    for (const k of Object.keys(env)) if (k.startsWith('CROSSLINK_') || k.startsWith('AWS_')) delete env[k];
    const out = spawnSync(process.execPath, [require.resolve('osls/bin/serverless.js'), 'package'], {
      cwd: dir,
      env: { ...env, ...values },
      encoding: 'utf8',
    });
    return { status: out.status, text: out.stdout + out.stderr };
  };
  const variables = () => {
    const t = JSON.parse(
      readFileSync(join(dir, '.serverless', 'cloudformation-template-update-stack.json'), 'utf8'),
    );
    return {
      intake: t.Resources.IntakeLambdaFunction.Properties.Environment.Variables,
      relay: t.Resources.RelayToGoogleLambdaFunction.Properties.Environment.Variables,
      relayIn: t.Resources.RelayFromGoogleLambdaFunction.Properties.Environment.Variables,
    };
  };

  it('fails before packaging anything without the Google values, naming each', () => {
    const r = osls({});
    expect(r.status, r.text).not.toBe(0);
    for (const v of [
      'CROSSLINK_GCP_PROJECT',
      'CROSSLINK_PEER_PUBLIC_KEY_PEM',
      'CROSSLINK_PEER_KEY_ID',
      'CROSSLINK_GCP_EXTERNAL_ACCOUNT',
    ])
      expect(r.text).toMatch(new RegExp(`^${v}: required`, 'm'));
    expect(r.text).not.toMatch(/Service packaged/);
  });

  it('packages the first phase (CROSSLINK_DEPLOY_PHASE: aws-first) with the values empty', () => {
    const r = osls({ CROSSLINK_DEPLOY_PHASE: 'aws-first' });
    expect(r.status, r.text).toBe(0);
    const v = variables();
    expect(v.intake.CROSSLINK_PEER_PUBLIC_KEY_PEM).toBe('');
    expect(v.relay.CROSSLINK_GCP_PROJECT).toBe('');
  }, 60_000);

  it("packages the second phase with Google's values on the functions", () => {
    const r = osls(COMPLETE);
    expect(r.status, r.text).toBe(0);
    const v = variables();
    expect(v.intake.CROSSLINK_PEER_PUBLIC_KEY_PEM).toBe(PEM);
    expect(v.intake.CROSSLINK_PEER_KEY_ID).toBe(COMPLETE.CROSSLINK_PEER_KEY_ID);
    expect(v.relay.CROSSLINK_GCP_PROJECT).toBe('payments-prod');
    expect(v.relay.CROSSLINK_GCP_EXTERNAL_ACCOUNT).toBe(COMPLETE.CROSSLINK_GCP_EXTERNAL_ACCOUNT);
    expect(v.relayIn.CROSSLINK_RELAY_SERVICE_ACCOUNT).toBe(
      'crosslink-relay@payments-prod.iam.gserviceaccount.com',
    );
  }, 60_000);
});

describe('the first phase: no peer values', () => {
  it('reads no peer key from empty variables, and refuses one without the other', () => {
    expect(peerKey({ CROSSLINK_PEER_PUBLIC_KEY_PEM: '', CROSSLINK_PEER_KEY_ID: '' })).toBeUndefined();
    expect(() => peerKey({ CROSSLINK_PEER_PUBLIC_KEY_PEM: PEM })).toThrow(/CROSSLINK_PEER_KEY_ID is not set/);
  });

  it('the AWS intake refuses a link request naming the missing values and the next step (503)', async () => {
    const h = stepHarness();
    const started: unknown[] = [];
    const deps = {
      ...h.deps,
      settings: { ...h.deps.settings, peerKey: undefined },
      stateMachines: { provisioning: 'arn:prov', decommissioning: 'arn:decom' },
      executions: { start: async (...a: unknown[]) => started.push(a) > 0, running: async () => false },
    } as unknown as IntakeDeps;
    const event: HttpApiEvent = {
      routeKey: 'POST /links',
      body: JSON.stringify({ ...REQUEST, name: 'payments-east' }),
      requestContext: { authorizer: { iam: { userArn: 'arn:aws:iam::000000000000:user/alice' } } },
    };
    const out = await intake(deps, event);
    expect(out.statusCode).toBe(503);
    expect(JSON.parse(out.body).error).toEqual({
      code: 'NotConfiguredError',
      message: expect.stringMatching(
        /no peer yet: CROSSLINK_PEER_PUBLIC_KEY_PEM and CROSSLINK_PEER_KEY_ID are empty .*docs\/deploy.md/,
      ),
    });
    expect(started).toEqual([]);
    const list = await intake(deps, { ...event, routeKey: 'GET /links', body: undefined });
    expect(list.statusCode).toBe(200);
  });
});
