/**
 * `crosslink sim workflow run <file.yaml> [--input <json>] [--env K=V] [--json]` and
 * `crosslink sim workflow lint <file.yaml>`: the local Workflows engine on one file.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { errorsOf, formatProblem, lintWorkflow } from '#local/workflows/lint.ts';
import { runFile } from '#local/workflows/runner.ts';
import { toJson } from '#local/workflows/values.ts';
import type { Command, CommandContext } from '../cli/command.ts';
import { EXIT, InputFileError, UsageError } from '../cli/errors.ts';

const MAX_STEP_LINES = 200;

async function readDefinition(ctx: CommandContext, file: string): Promise<string> {
  try {
    return await readFile(resolve(ctx.home, file), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputFileError([`${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`]);
  }
}

function parseEnv(raw: unknown): Record<string, string> {
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const env: Record<string, string> = {};
  for (const item of list) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(String(item));
    if (!m) throw new UsageError(`--env takes NAME=VALUE, got "${String(item)}"`);
    env[m[1] as string] = m[2] as string;
  }
  return env;
}

async function lint(ctx: CommandContext, file: string): Promise<number> {
  const { problems } = lintWorkflow(await readDefinition(ctx, file));
  if (ctx.global.json) {
    ctx.io.out(JSON.stringify({ file, problems }, null, 2));
    return problems.length > 0 ? EXIT.usage : EXIT.ok;
  }
  for (const p of problems) ctx.io.err(formatProblem(file, p));
  if (problems.length === 0) ctx.io.out(`${file}: ok`);
  return problems.length > 0 ? EXIT.usage : EXIT.ok;
}

async function run(ctx: CommandContext, file: string): Promise<number> {
  const text = await readDefinition(ctx, file);
  const { problems } = lintWorkflow(text);
  for (const p of problems) ctx.io.err(formatProblem(file, p));
  if (errorsOf(problems).length > 0) return EXIT.usage;
  let argument: unknown = null;
  if (typeof ctx.options.input === 'string') {
    try {
      argument = JSON.parse(ctx.options.input);
    } catch (e) {
      throw new UsageError(`--input is not valid JSON: ${(e as Error).message}`);
    }
  }
  const outcome = await runFile(text, {
    argument,
    env: parseEnv(ctx.options.env),
    log: (entry) =>
      ctx.io.err(`log ${entry.severity} ${entry.step}: ${entry.text ?? JSON.stringify(entry.json ?? null)}`),
    onWaiting: (url) =>
      ctx.io.err(`waiting for a callback: curl -X POST -H 'content-type: application/json' -d '{}' ${url}`),
  });
  const steps = outcome.steps.map((s) => ({ step: s.step, routine: s.routine, billing: s.billing }));
  if (ctx.global.json) {
    const body =
      outcome.state === 'SUCCEEDED'
        ? { state: outcome.state, result: toJson(outcome.result ?? null), steps }
        : { state: outcome.state, error: outcome.error, steps };
    ctx.io.out(JSON.stringify(body, null, 2));
  } else {
    ctx.io.out(
      `steps (${outcome.stepCount.total}: ${outcome.stepCount.internal} internal, ${outcome.stepCount.external} external):`,
    );
    for (const s of steps.slice(0, MAX_STEP_LINES))
      ctx.io.out(`  ${s.routine}.${s.step}${s.billing === 'external' ? '  (external)' : ''}`);
    if (steps.length > MAX_STEP_LINES) ctx.io.out(`  ... ${steps.length - MAX_STEP_LINES} more`);
    if (outcome.state === 'SUCCEEDED')
      ctx.io.out(`result: ${JSON.stringify(toJson(outcome.result ?? null))}`);
    else if (outcome.error) {
      ctx.io.out(`${outcome.state}: ${outcome.error.context.split('\n')[0]}`);
      for (const line of outcome.error.context.split('\n').slice(1)) ctx.io.out(`  ${line}`);
      ctx.io.out(`  payload: ${outcome.error.payload}`);
    } else ctx.io.out(outcome.state);
  }
  return outcome.state === 'SUCCEEDED' ? EXIT.ok : EXIT.unexpected;
}

const workflow: Command = {
  noun: 'sim',
  verb: 'workflow',
  args: 'run|lint <file.yaml>',
  summary: 'run a Google Cloud Workflows file on the local engine, or lint it',
  example: 'crosslink sim workflow lint examples/workflows/approve-then-create.workflows.yaml',
  positionals: { min: 2, max: 2 },
  options: {
    input: { type: 'string', description: 'run: the execution argument, as JSON' },
    env: {
      type: 'string',
      multiple: true,
      description: 'run: a user environment variable NAME=VALUE (repeatable)',
    },
  },
  async run(ctx) {
    const [action, file] = ctx.positionals as [string, string];
    if (action === 'lint') {
      if (ctx.options.input !== undefined || ctx.options.env !== undefined)
        throw new UsageError('--input and --env go with "sim workflow run"');
      return lint(ctx, file);
    }
    if (action === 'run') return run(ctx, file);
    throw new UsageError(`unknown action "${action}": crosslink sim workflow run|lint <file.yaml>`);
  },
};

export const simWorkflowCommands: Command[] = [workflow];
