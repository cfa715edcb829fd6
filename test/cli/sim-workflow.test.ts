import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '#scripts/cli/main.ts';
import { yaml } from '../support/workflows.ts';

const repo = resolve(import.meta.dirname, '..', '..');

async function cli(args: string[], onErr?: (line: string) => void) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    out: (l) => out.push(l),
    err: (l) => {
      err.push(l);
      onErr?.(l);
    },
    cwd: repo,
    env: {},
  });
  return { code, out: out.join('\n'), err };
}

function file(text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'crosslink-wf-')), 'wf.workflows.yaml');
  writeFileSync(p, text);
  return p;
}

const doubler = yaml`
  main:
    params: [input]
    steps:
      - nap:
          call: sys.sleep
          args:
            seconds: 86400
      - done:
          return: \${input.n * 2}
`;

describe('crosslink sim workflow run', () => {
  it('prints the steps and the result; a day of sys.sleep passes in simulated time', async () => {
    const started = Date.now();
    const r = await cli(['sim', 'workflow', 'run', file(doubler), '--input', '{"n": 21}']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('steps (2: 2 internal, 0 external):\n  main.nap\n  main.done\nresult: 42');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('--json prints {state, result, steps}', async () => {
    const r = await cli(['sim', 'workflow', 'run', file(doubler), '--input', '{"n": 1}', '--json']);
    const body = JSON.parse(r.out);
    expect(Object.keys(body)).toEqual(['state', 'result', 'steps']);
    expect(body).toEqual({
      state: 'SUCCEEDED',
      result: 2,
      steps: [
        { step: 'nap', routine: 'main', billing: 'internal' },
        { step: 'done', routine: 'main', billing: 'internal' },
      ],
    });
  });

  it('a failed execution prints the error as Workflows reports it and exits non-zero', async () => {
    const f = file(yaml`
      - init:
          assign:
            - x: 1
      - use:
          return: \${x + y}
    `);
    const r = await cli(['sim', 'workflow', 'run', f]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      'FAILED: KeyError: variable "y" is not defined\n  in step "use", routine "main", line: 4',
    );
    const j = await cli(['sim', 'workflow', 'run', f, '--json']);
    expect(j.code).toBe(1);
    const body = JSON.parse(j.out);
    expect(Object.keys(body)).toEqual(['state', 'error', 'steps']);
    expect(JSON.parse(body.error.payload)).toEqual({
      message: 'variable "y" is not defined',
      tags: ['KeyError'],
    });
  });

  it('waits for a callback at a URL it prints; a POST resumes the run', async () => {
    const f = file(yaml`
      - make:
          call: events.create_callback_endpoint
          result: cb
      - wait:
          call: events.await_callback
          args:
            callback: \${cb}
            timeout: 600
          result: req
      - done:
          return: \${req.http_request.body}
    `);
    const r = await cli(['sim', 'workflow', 'run', f, '--json'], (line) => {
      const url = /waiting for a callback: .* (http:\/\/127\.0\.0\.1:\d+\/\S+)$/.exec(line)?.[1];
      if (url)
        void fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"ok":true}',
        });
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).result).toEqual({ ok: true });
  });

  it('refuses a workflow that does not lint, and bad input, with exit 2', async () => {
    const bad = await cli(['sim', 'workflow', 'run', file('- a:\n    next: nowhere\n')]);
    expect(bad.code).toBe(2);
    expect(bad.err[0]).toMatch(/wf\.workflows\.yaml:1:3: step "a": next target "nowhere"/);
    const input = await cli(['sim', 'workflow', 'run', file(doubler), '--input', '{nope']);
    expect(input.code).toBe(2);
    expect(input.err[0]).toMatch(/^--input is not valid JSON/);
    const missing = await cli(['sim', 'workflow', 'run', '/nonexistent/wf.yaml']);
    expect(missing).toMatchObject({ code: 2, err: ['/nonexistent/wf.yaml: no such file'] });
  });
});

describe('crosslink sim workflow lint', () => {
  it('exits 0 on a clean file and non-zero with one line per problem', async () => {
    const ok = await cli(['sim', 'workflow', 'lint', file(doubler)]);
    expect(ok.code).toBe(0);
    const f = file(yaml`
      - a:
          call: nothing_here
      - b:
          return: 1
      - c:
          return: 2
    `);
    const r = await cli(['sim', 'workflow', 'lint', f]);
    expect(r.code).toBe(2);
    expect(r.err.map((l) => l.slice(f.length))).toEqual([
      ':1:3: step "a": call to undefined subworkflow or unsupported function "nothing_here"',
      ':5:3: warning: step "c": unreachable: no step falls through or jumps to it',
    ]);
  });

  it('run warns about an unreachable step but still runs (the cloud would deploy it)', async () => {
    const r = await cli(['sim', 'workflow', 'run', file('- a:\n    return: 1\n- b:\n    return: 2\n')]);
    expect(r.code).toBe(0);
    expect(r.err[0]).toMatch(/:3:3: warning: step "b": unreachable/);
    expect(r.out).toMatch(/result: 1$/);
  });

  it('unknown actions are usage errors', async () => {
    const r = await cli(['sim', 'workflow', 'explode', 'x.yaml']);
    expect(r.code).toBe(2);
    expect(r.err[0]).toContain('unknown action "explode"');
  });
});
