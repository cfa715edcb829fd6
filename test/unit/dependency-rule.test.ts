import { describe, expect, it } from 'vitest';
import { checkTree } from '../support/tree-check.ts';

const check = (files: Record<string, string>) => checkTree('check-deps.ts', files);

describe('the dependency rule', () => {
  it('passes a clean core', async () => {
    const r = await check({
      'functions/core/a.ts': "import { b } from './b.ts';\nimport { readFile } from 'node:fs';\n",
      'functions/core/b.ts': 'export const b = 1;\n',
    });
    expect(r.code).toBe(0);
  });

  it('fails on an SDK, Lambda types, an adapter, the local cloud or a script imported by the core', async () => {
    const r = await check({
      'functions/core/x.ts': [
        "import { S3Client } from '@aws-sdk/client-s3';",
        "import type { Handler } from 'aws-lambda';",
        "import { f } from '#aws/handler.ts';",
        "import { g } from '../gcp/fn.ts';",
        "const l = await import('#local/clock.ts');",
        "export { h } from '../../scripts/x.ts';",
      ].join('\n'),
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/imports @aws-sdk\/client-s3/);
    expect(r.out).toMatch(/imports aws-lambda/);
    expect(r.out).toMatch(/must not import functions\/aws/);
    expect(r.out).toMatch(/must not import functions\/gcp/);
    expect(r.out).toMatch(/must not import local/);
    expect(r.out).toMatch(/must not import scripts/);
  });

  it("fails on EventBridge, SQS or Pub/Sub vocabulary in the core's code, not in its comments or the adapters", async () => {
    const r = await check({
      'functions/core/relay.ts': [
        '/** Maps a CloudEvent to an EventBridge entry and a Pub/Sub message (comments may name them). */',
        'export interface SqsRecord { body: string }',
        'export function toEventBridgeEntry(e: unknown) { return e; }',
        'export const fromPubSubPush = (b: unknown) => b; // a PubSub push',
      ].join('\n'),
      'functions/core/clean.ts':
        '// EventBridge and Pub/Sub are the buses; the core only builds the event\nexport const a = 1;\n',
      'functions/aws/envelope.ts': 'export function toEventBridgeEntry(e: unknown) { return e; }\n',
      'functions/gcp/envelope.ts': 'export interface PubSubMessageIn { data?: string }\n',
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /functions\/core\/relay.ts: names SqsRecord, toEventBridgeEntry, fromPubSubPush; functions\/core speaks no transport/,
    );
    expect(r.out).not.toMatch(/clean\.ts|eventbridge-envelope|pubsub-envelope/);
  });

  it('fails on an import cycle inside the core and on product code importing local/', async () => {
    const r = await check({
      'functions/core/a.ts': "import { b } from './b.ts';\n",
      'functions/core/b.ts': "import { a } from './a.ts';\n",
      'functions/aws/h.ts': "import { clock } from '#local/clock.ts';\n",
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/import cycle: functions\/core\/a -> functions\/core\/b -> functions\/core\/a/);
    expect(r.out).toMatch(
      /functions\/aws\/h.ts: imports #local\/clock.ts; functions must not import local \(product code\)/,
    );
  });

  it('fails on a cycle anywhere in the tree, through a dynamic import too, but not on type-only imports', async () => {
    const cyclic = await check({
      'local/aws/services/events.ts': "import { deliver } from './delivery.ts';\n",
      'local/aws/services/delivery.ts': "export async function deliver() { await import('./events.ts'); }\n",
      'scripts/x.ts': "import { y } from './y.ts';\n",
      'scripts/y.ts': "import { z } from './z.ts';\n",
      'scripts/z.ts': "import { x } from './x.ts';\n",
    });
    expect(cyclic.code).toBe(1);
    expect(cyclic.out).toMatch(
      /import cycle: local\/aws\/services\/delivery -> local\/aws\/services\/events -> local\/aws\/services\/delivery/,
    );
    expect(cyclic.out).toMatch(/import cycle: scripts\/x -> scripts\/y -> scripts\/z -> scripts\/x/);
    const typesOnly = await check({
      'local/service.ts': "import type { Iam } from './iam.ts';\nexport interface World { iam: Iam }\n",
      'local/iam.ts': "import type { World } from './service.ts';\nexport interface Iam { world: World }\n",
    });
    expect(typesOnly.code, typesOnly.out).toBe(0);
  });

  it('keeps local/ and deployment/ off the scripts, and scripts on the public entry points of local/', async () => {
    const r = await check({
      'local/gcp/wiring.ts': "import { loadGcpConfig } from '#scripts/gcp-config.ts';\n",
      'deployment/gcp-grants.ts': "import { keyValues } from '../scripts/gcp-deploy/gcloud.ts';\n",
      'scripts/cli/target.ts': "import { pidAlive } from '#local/processes.ts';\n",
      'scripts/commands/sim-aws.ts': "import { Interpreter } from '#local/aws/sfn/interpreter.ts';\n",
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /local\/gcp\/wiring.ts: imports #scripts\/gcp-config.ts; local must not import scripts/,
    );
    expect(r.out).toMatch(/deployment\/gcp-grants.ts: .* deployment must not import scripts/);
    expect(r.out).toMatch(
      /scripts\/cli\/target.ts: imports #local\/processes.ts; only the commands that run the local cloud/,
    );
    expect(r.out).toMatch(
      /scripts\/commands\/sim-aws.ts: .* scripts reach local\/ only through its public entry points/,
    );
    const ok = await check({
      'scripts/start.ts': "import { startLocalCloud } from '#local/index.ts';\n",
      'scripts/commands/sim-aws.ts': "import { runOffline } from '#local/aws/sfn/offline-run.ts';\n",
      'local/index.ts': "import { loadGcpConfig } from '#deployment/gcp-config.ts';\n",
      'deployment/gcp-config.ts': "import { schemaIssues } from '#core/schema.ts';\n",
    });
    expect(ok.code, ok.out).toBe(0);
  });
});
