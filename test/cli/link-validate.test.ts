import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from '#scripts/cli/main.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const bin = join(repo, 'scripts', 'crosslink.ts');

/** Runs the CLI in-process, as the bin does, capturing its output lines. */
async function cli(args: string[], cwd = repo) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd, env: {} });
  return { code, out: out.join('\n'), err };
}

function file(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'crosslink-cli-'));
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('crosslink link validate', () => {
  it('accepts the shipped example: table, exit 0', async () => {
    const r = await cli(['link', 'validate', 'examples/link-request.yaml', '--as', 'alice']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^RULE\s+OK\s+MESSAGE/);
    expect(r.out).toMatch(/roles.requester\s+yes/);
    expect(r.out).toMatch(/\naccepted {2}\(policy [0-9a-f]{12}\)/);
  });

  it('--json prints {accepted, policyHash, decisions[{rule, ok, message}]}, exit 3 when refused', async () => {
    const r = await cli(['link', 'validate', 'examples/link-request.yaml', '--as', 'bob', '--json']);
    expect(r.code).toBe(3);
    const body = JSON.parse(r.out);
    expect(Object.keys(body)).toEqual(['accepted', 'policyHash', 'decisions']);
    expect(body.accepted).toBe(false);
    expect(body.decisions.find((d: { rule: string }) => d.rule === 'roles.requester')).toEqual({
      rule: 'roles.requester',
      ok: false,
      message: expect.stringMatching(/bob may not request prod links/),
    });
  });

  it('reads JSON requests too', async () => {
    const p = file(
      'r.json',
      JSON.stringify({
        name: 'x',
        initiator: 'gcp',
        bandwidth: 'BPS_1G',
        environment: 'nonprod',
        residency: 'any',
        aws: {
          accountId: '000000000000',
          region: 'eu-central-1',
          directConnectGateway: '90392BE3-219C-47FD-BBA5-03DF76D2542A',
          routes: ['10.1.0.0/16'],
        },
        gcp: { project: 'my-project', region: 'europe-west3', network: 'vpc', routes: ['10.2.0.0/16'] },
      }),
    );
    expect((await cli(['link', 'validate', p])).code).toBe(0);
  });

  it('malformed input: one line per bad field, by path, exit 2', async () => {
    const p = file(
      'bad.yaml',
      'name: ok\ninitiator: azure\nbandwidth: 1Gbps\nenvironment: prod\nresidency: US\naws: {accountId: 12, region: us-east-1, directConnectGateway: x, routes: [10.0.0.1/16]}\n',
    );
    const r = await cli(['link', 'validate', p]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([
      `${p}: gcp: is required`,
      `${p}: initiator: must be one of "aws", "gcp"`,
      `${p}: aws.accountId: must be a string`,
      `${p}: aws.directConnectGateway: must be a Direct Connect gateway id (a UUID)`,
      `${p}: aws.routes[0]: "10.0.0.1/16" has host bits set; did you mean 10.0.0.0/16?`,
    ]);
  });

  it('malformed YAML: file:line:col per problem, exit 2', async () => {
    const p = file('broken.yaml', 'name: [a,\n  b: c: d\n');
    const r = await cli(['link', 'validate', p]);
    expect(r.code).toBe(2);
    expect(r.err.length).toBeGreaterThan(0);
    for (const line of r.err) expect(line).toMatch(new RegExp(`^${p.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
  });

  it('a missing file: one line, exit 2', async () => {
    const r = await cli(['link', 'validate', '/nonexistent/request.yaml']);
    expect(r).toMatchObject({ code: 2, err: ['/nonexistent/request.yaml: no such file'] });
  });

  it('usage errors: unknown noun, verb, flag, missing or extra argument, exit 2', async () => {
    expect(await cli(['lnk', 'validate'])).toMatchObject({
      code: 2,
      err: [expect.stringMatching(/unknown command "lnk"/)],
    });
    expect(await cli(['link', 'frob'])).toMatchObject({
      code: 2,
      err: [expect.stringMatching(/unknown command "link frob"; link verbs: validate/)],
    });
    expect(await cli(['link', 'validate', 'x', '--frob'])).toMatchObject({
      code: 2,
      err: [expect.stringMatching(/Unknown option '--frob'/)],
    });
    expect(await cli(['link', 'validate'])).toMatchObject({
      code: 2,
      err: ['missing argument: crosslink link validate <file>'],
    });
    expect(await cli(['link', 'validate', 'a', 'b'])).toMatchObject({
      code: 2,
      err: [expect.stringMatching(/unexpected argument "b"/)],
    });
    expect(await cli(['link', 'validate', 'examples/link-request.yaml', '--as', 'mallory'])).toMatchObject({
      code: 2,
      err: [expect.stringMatching(/--as mallory: no such identity/)],
    });
    expect(await cli(['link', 'validate', 'examples/link-request.yaml', '--timeout', '5m'])).toMatchObject({
      code: 2,
      err: ['--timeout goes with --wait'],
    });
  });

  it('a broken policy file is named with its problems', async () => {
    const p = file('policy.yaml', 'version: 1\nregionPairs: []\n');
    const r = await cli(['link', 'validate', 'examples/link-request.yaml', '--policy', p]);
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toMatch(/regionPairs: must have at least 1 item/);
  });
});

describe('the crosslink bin', () => {
  it('runs on Node 24 and prints versions', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [bin, '--version'], { cwd: repo });
    expect(stdout.trim()).toMatch(/^crosslink \d+\.\d+\.\d+ \(node v24\.\d+\.\d+\)$/);
  });

  it('prints no stack trace on error, and exits with the mapped code', async () => {
    const r = await promisify(execFile)(process.execPath, [bin, 'link', 'validate', '/nonexistent.yaml'], {
      cwd: repo,
    }).catch((e) => e);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('/nonexistent.yaml: no such file\n');
  });

  it('--target without a running local cloud says what to do', async () => {
    const { resolveTarget } = await import('#scripts/cli/target.ts');
    const empty = mkdtempSync(join(tmpdir(), 'crosslink-home-'));
    await expect(resolveTarget(undefined, empty)).rejects.toThrow(/run `npm start`, or pass --target cloud/);
    await expect(resolveTarget('cloud', empty)).resolves.toEqual({ kind: 'cloud' });
    await expect(resolveTarget('mars', empty)).rejects.toThrow(/--target must be local or cloud/);
  });

  it('--target defaults to local when .crosslink/local.json names a live process, and ignores a dead one', async () => {
    const { resolveTarget } = await import('#scripts/cli/target.ts');
    const home = mkdtempSync(join(tmpdir(), 'crosslink-home-'));
    mkdirSync(join(home, '.crosslink'));
    const handshake = (pid: number) =>
      JSON.stringify({
        version: 1,
        pid,
        clock: { mode: 'manual', scale: 60 },
        aws: null,
        gcp: null,
        pubsubEmulatorHost: null,
        firestoreEmulatorHost: null,
        intakes: { aws: null, gcp: null },
        admin: null,
      });
    writeFileSync(join(home, '.crosslink', 'local.json'), handshake(process.pid));
    await expect(resolveTarget(undefined, home)).resolves.toMatchObject({
      kind: 'local',
      local: { pid: process.pid },
    });
    writeFileSync(join(home, '.crosslink', 'local.json'), handshake(2 ** 22 + 12345)); // beyond pid_max: never alive
    await expect(resolveTarget(undefined, home)).rejects.toThrow(/no local cloud is running/);
  });
});
