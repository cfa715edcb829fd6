import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const script = resolve(import.meta.dirname, '..', '..', 'scripts', 'check-deps.ts');

async function check(files: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'crosslink-deps-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return promisify(execFile)(process.execPath, [script, root]).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e) => ({ code: e.code as number, out: `${e.stdout}${e.stderr}` }),
  );
}

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

  it('fails on an import cycle inside the core and on product code importing local/', async () => {
    const r = await check({
      'functions/core/a.ts': "import { b } from './b.ts';\n",
      'functions/core/b.ts': "import { a } from './a.ts';\n",
      'functions/aws/h.ts': "import { clock } from '#local/clock.ts';\n",
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /import cycle in functions\/core: functions\/core\/a -> functions\/core\/b -> functions\/core\/a/,
    );
    expect(r.out).toMatch(
      /functions\/aws\/h.ts: imports #local\/clock.ts; product code must not import local/,
    );
  });
});
