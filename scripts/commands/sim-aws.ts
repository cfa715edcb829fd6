/**
 * `crosslink sim sfn run|send-success|send-failure` and `crosslink sim events test-pattern`: the
 * AWS engines of the local cloud from the command line (docs/aws-engines.md).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { InvalidEventPatternError, matchesPattern, parsePattern } from '#local/aws/events/pattern.ts';
import type { InlineHandler } from '#local/aws/lambda/functions.ts';
import { InvalidDefinitionError } from '#local/aws/sfn/definition.ts';
import { runOffline } from '#local/aws/sfn/offline-run.ts';
import type { Command, CommandContext } from '../cli/command.ts';
import { EXIT, InputFileError, UsageError } from '../cli/errors.ts';
import { identity } from '../cli/identities.ts';
import { table } from '../cli/table.ts';

/** A JSON argument given inline or as `@file`. */
async function jsonArg(text: string, what: string): Promise<string> {
  let raw = text;
  if (text.startsWith('@')) {
    try {
      raw = await readFile(text.slice(1), 'utf8');
    } catch (e) {
      throw new InputFileError([
        `${text.slice(1)}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      ]);
    }
  }
  try {
    JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`${what} is not JSON: ${(e as Error).message}`);
  }
  return raw;
}

async function loadTask(spec: string, cwd: string): Promise<[string, InlineHandler]> {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new UsageError(`--task ${spec}: use --task <State>=<module>[#export]`);
  const state = spec.slice(0, eq);
  const [file, exportName] = spec.slice(eq + 1).split('#') as [string, string | undefined];
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(cwd, file)).href)) as Record<string, unknown>;
  } catch (e) {
    throw new InputFileError([`${file}: ${(e as Error).message.split('\n')[0]}`]);
  }
  const fn = mod[exportName ?? 'handler'] ?? mod.default;
  if (typeof fn !== 'function')
    throw new UsageError(
      `--task ${spec}: ${file} exports no ${exportName ?? 'handler'} (or default) function`,
    );
  return [state, fn as InlineHandler];
}

function detailOf(ev: Record<string, unknown>): string {
  for (const [k, v] of Object.entries(ev)) {
    if (!k.endsWith('EventDetails') || !v || typeof v !== 'object') continue;
    const d = v as Record<string, unknown>;
    if (typeof d.name === 'string') return d.name;
    if (typeof d.error === 'string') return `${d.error}${d.cause ? `: ${String(d.cause).slice(0, 80)}` : ''}`;
    if (typeof d.resource === 'string') return String(d.resource);
  }
  return '';
}

async function sfnRun(ctx: CommandContext, file: string): Promise<number> {
  let definition: string;
  try {
    definition = await readFile(resolve(ctx.io.cwd, file), 'utf8');
  } catch (e) {
    throw new InputFileError([
      `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    ]);
  }
  const input = await jsonArg((ctx.options.input as string | undefined) ?? '{}', '--input');
  const tasks = Object.fromEntries(
    await Promise.all(((ctx.options.task as string[] | undefined) ?? []).map((t) => loadTask(t, ctx.io.cwd))),
  );
  let exec: Awaited<ReturnType<typeof runOffline>>;
  try {
    exec = await runOffline(definition, input, {
      tasks,
      onToken: (state) =>
        ctx.io.err(
          `state '${state}' waits for a task token; nothing answers it in an in-process run, so it runs to its timeout`,
        ),
    });
  } catch (e) {
    if (e instanceof InvalidDefinitionError) throw new InputFileError(e.problems.map((p) => `${file}: ${p}`));
    if ((e as Error).message.startsWith('--task')) throw new UsageError((e as Error).message);
    throw e;
  }
  if (ctx.global.json) {
    ctx.io.out(
      JSON.stringify({
        status: exec.status,
        output: exec.output === undefined ? undefined : JSON.parse(exec.output),
        error: exec.error,
        cause: exec.cause,
        history: exec.history,
      }),
    );
  } else {
    for (const line of table(
      ['ID', 'TIME', 'TYPE', 'DETAIL'],
      exec.history.map((h) => [String(h.id), h.timestamp.toISOString(), h.type, detailOf(h)]),
    )) {
      ctx.io.out(line);
    }
    ctx.io.out('');
    ctx.io.out(`status: ${exec.status}`);
    if (exec.output !== undefined) ctx.io.out(`output: ${exec.output}`);
    if (exec.error !== undefined) ctx.io.out(`error: ${exec.error}${exec.cause ? ` (${exec.cause})` : ''}`);
  }
  if (exec.status === 'SUCCEEDED') return EXIT.ok;
  if (exec.status === 'TIMED_OUT') return EXIT.timedOut;
  return EXIT.unexpected;
}

async function sfnAnswer(
  ctx: CommandContext,
  verb: 'send-success' | 'send-failure',
  token: string,
): Promise<number> {
  const target = await ctx.resolveTarget();
  if (target.kind !== 'local' || !target.local.aws)
    throw new UsageError('sim sfn answers tasks of the local cloud only');
  const who = await identity(ctx.home, ctx.global.as ?? 'admin');
  if (!who.aws) throw new UsageError(`--as ${who.name}: this identity has no AWS keys`);
  const client = new SFNClient({
    region: target.local.aws.region,
    endpoint: target.local.aws.endpoint,
    credentials: { accessKeyId: who.aws.accessKeyId, secretAccessKey: who.aws.secretAccessKey },
  });
  try {
    if (verb === 'send-success') {
      const output = await jsonArg((ctx.options.output as string | undefined) ?? '{}', '--output');
      await client.send(new SendTaskSuccessCommand({ taskToken: token, output }));
    } else {
      await client.send(
        new SendTaskFailureCommand({
          taskToken: token,
          error: ctx.options.error as string | undefined,
          cause: ctx.options.cause as string | undefined,
        }),
      );
    }
  } catch (e) {
    const name = (e as Error).name;
    if (name === 'InvalidToken' || name === 'TaskDoesNotExist') {
      ctx.io.err(`${name}: ${(e as Error).message}`);
      return EXIT.notFound;
    }
    if (name === 'TaskTimedOut') {
      ctx.io.err(`TaskTimedOut: the task is no longer waiting for this token`);
      return EXIT.timedOut;
    }
    throw e;
  } finally {
    client.destroy();
  }
  if (ctx.global.json)
    ctx.io.out(JSON.stringify({ answered: verb === 'send-success' ? 'success' : 'failure' }));
  else ctx.io.out(`task answered (${verb === 'send-success' ? 'success' : 'failure'})`);
  return EXIT.ok;
}

const sfn: Command = {
  noun: 'sim',
  verb: 'sfn',
  args: 'run <file.asl.json> | send-success <token> | send-failure <token>',
  summary: 'run an ASL file in-process (history and output), or answer a waiting task of the local cloud',
  example: "crosslink sim sfn run workflows/aws/link-provisioning.asl.json --input '{}'",
  positionals: { min: 2, max: 2 },
  options: {
    input: { type: 'string', description: 'run: the execution input, JSON or @file (default {})' },
    task: {
      type: 'string',
      multiple: true,
      description: 'run: <State>=<module>[#export] plays the Lambda of a Task state',
    },
    output: { type: 'string', description: 'send-success: the task output, JSON or @file (default {})' },
    error: { type: 'string', description: 'send-failure: the error name' },
    cause: { type: 'string', description: 'send-failure: the cause' },
  },
  async run(ctx) {
    const [sub, arg] = ctx.positionals as [string, string];
    if (sub === 'run') return sfnRun(ctx, arg);
    if (sub === 'send-success' || sub === 'send-failure') return sfnAnswer(ctx, sub, arg);
    throw new UsageError(`unknown sim sfn verb "${sub}": use run, send-success or send-failure`);
  },
};

const events: Command = {
  noun: 'sim',
  verb: 'events',
  args: 'test-pattern <pattern> <event>',
  summary: 'does an EventBridge event pattern match an event? (JSON or @file each)',
  example: 'crosslink sim events test-pattern \'{"source":["crosslink"]}\' @event.json',
  positionals: { min: 3, max: 3 },
  async run(ctx) {
    const [sub, patternArg, eventArg] = ctx.positionals as [string, string, string];
    if (sub !== 'test-pattern') throw new UsageError(`unknown sim events verb "${sub}": use test-pattern`);
    const patternText = await jsonArg(patternArg, 'the pattern');
    const event = JSON.parse(await jsonArg(eventArg, 'the event'));
    let pattern: ReturnType<typeof parsePattern>;
    try {
      pattern = parsePattern(patternText);
    } catch (e) {
      if (e instanceof InvalidEventPatternError) {
        ctx.io.err(`InvalidEventPatternException: ${e.message}`);
        return EXIT.usage;
      }
      throw e;
    }
    const result = matchesPattern(pattern, event);
    ctx.io.out(ctx.global.json ? JSON.stringify({ result }) : result ? 'match' : 'no match');
    return EXIT.ok;
  },
};

export const simAwsCommands: Command[] = [sfn, events];
