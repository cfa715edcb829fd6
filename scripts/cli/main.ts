/**
 * The CLI entry: finds `<noun> <verb>`, parses global and command flags strictly, runs the command
 * and maps any error to the exit codes of docs/architecture.md ("CLI and exit codes") with one line per problem.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '#core/clock.ts';
import { commands } from '../commands/index.ts';
import type { Command, GlobalOptions } from './command.ts';
import { EXIT, errorLines, exitCodeFor, UsageError } from './errors.ts';
import { GLOBAL } from './global-flags.ts';
import type { CliIO } from './io.ts';
import { resolveTarget } from './target.ts';

const VALUE_FLAGS = new Set(
  Object.entries(GLOBAL)
    .filter(([, d]) => d.type === 'string')
    .map(([k]) => `--${k}`),
);

export function version(): string {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return `crosslink ${pkg.version} (node ${process.version})`;
}

/** Help fits this many columns (a terminal, a doc, a code review). */
const HELP_WIDTH = 100;

/** `text` in lines of at most HELP_WIDTH columns: the first after `lead`, the rest after `indent` spaces. */
function wrap(lead: string, text: string, indent: number): string[] {
  const lines: string[] = [];
  let line = lead;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const sep = line.trim() === '' || line.endsWith(' ') ? '' : ' ';
    if (line.trim() !== '' && line.length + sep.length + word.length > HELP_WIDTH) {
      lines.push(line.trimEnd());
      line = ' '.repeat(indent) + word;
    } else line += sep + word;
  }
  lines.push(line.trimEnd());
  return lines;
}

const USAGE =
  'crosslink <noun> <verb> [args] [--json] [--target local|cloud] [--as <identity>] [--wait [--timeout <duration>]]';

function help(io: CliIO, only?: string): void {
  const list = commands.filter((c) => !only || c.noun === only);
  const lines = [...wrap('usage: ', USAGE, 7), ''];
  const w = Math.max(...list.map((c) => `${c.noun} ${c.verb}`.length));
  for (const c of list) lines.push(...wrap(`  ${`${c.noun} ${c.verb}`.padEnd(w)}  `, c.summary, w + 4));
  lines.push(
    '',
    ...wrap('', `crosslink <noun> <verb> --help: the verb's arguments, flags and an example.`, 0),
  );
  lines.push('', 'global flags:');
  for (const [k, d] of Object.entries(GLOBAL)) lines.push(...wrap(`  --${k.padEnd(8)} `, d.description, 13));
  lines.push(
    '',
    ...wrap(
      'exit codes: ',
      '0 ok, 1 unexpected error, 2 usage or malformed input, 3 refused by policy or permission, 4 not found, 5 timed out, 6 --wait saw another end state',
      12,
    ),
  );
  for (const l of lines) io.out(l);
}

function commandHelp(io: CliIO, c: Command): void {
  const lines = [...wrap(`usage: crosslink ${c.noun} ${c.verb} `, c.args, 8), ...wrap('  ', c.summary, 2)];
  const options = Object.entries(c.options ?? {});
  if (options.length > 0) lines.push('', 'flags:');
  const flag = ([k, d]: (typeof options)[number]) => `--${k}${d.type === 'string' ? ' <value>' : ''}`;
  const w = Math.max(0, ...options.map((o) => flag(o).length));
  for (const o of options) lines.push(...wrap(`  ${flag(o).padEnd(w)}  `, o[1].description ?? '', w + 4));
  lines.push('', 'example:', `  ${c.example}`);
  for (const l of lines) io.out(l);
}

/** Finds the first two bare words, skipping the values of global flags that take one. */
function nounVerb(argv: string[]): { noun?: string; verb?: string } {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    if (a.startsWith('-')) {
      if (VALUE_FLAGS.has(a)) i++;
      continue;
    }
    words.push(a);
  }
  return { noun: words[0], verb: words[1] };
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  try {
    const { noun, verb } = nounVerb(argv);
    if (!noun) {
      if (argv.includes('--version')) {
        io.out(version());
        return EXIT.ok;
      }
      help(io);
      return argv.includes('--help') || argv.includes('-h') ? EXIT.ok : EXIT.usage;
    }
    const nounCommands = commands.filter((c) => c.noun === noun);
    if (nounCommands.length === 0)
      throw new UsageError(
        `unknown command "${noun}"; nouns: ${[...new Set(commands.map((c) => c.noun))].join(', ')}`,
      );
    // A noun that is its own command (`doctor`) has the verb ''.
    const cmd = nounCommands.find((c) => c.verb === (verb ?? ''));
    if (!cmd) {
      if (!verb && (argv.includes('--help') || argv.includes('-h'))) {
        help(io, noun);
        return EXIT.ok;
      }
      const asked = [noun, verb].filter(Boolean).join(' ');
      throw new UsageError(
        `unknown command "${asked}"; ${noun} verbs: ${nounCommands.map((c) => c.verb).join(', ')}`,
      );
    }
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: argv,
        options: { ...GLOBAL, ...(cmd.options ?? {}) },
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      throw new UsageError(`${(e as Error).message.split('\n')[0]}; see crosslink ${noun} ${verb} --help`);
    }
    const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
    if (values.help) {
      commandHelp(io, cmd);
      return EXIT.ok;
    }
    const positionals = parsed.positionals.slice(cmd.verb === '' ? 1 : 2);
    const range = cmd.positionals ?? { min: 0, max: 0 };
    if (positionals.length < range.min)
      throw new UsageError(`missing argument: crosslink ${noun} ${verb} ${cmd.args}`);
    if (positionals.length > range.max)
      throw new UsageError(
        `unexpected argument "${positionals[range.max]}": crosslink ${noun} ${verb} ${cmd.args}`,
      );
    const global: GlobalOptions = { json: values.json === true, wait: values.wait === true };
    if (typeof values.target === 'string') global.target = values.target;
    if (typeof values.as === 'string') global.as = values.as;
    if (typeof values.timeout === 'string') {
      try {
        global.timeout = parseDuration(values.timeout);
      } catch (e) {
        throw new UsageError(`--timeout: ${(e as Error).message}`);
      }
      if (!global.wait) throw new UsageError('--timeout goes with --wait');
    }
    const home = io.cwd;
    return await cmd.run({
      positionals,
      options: values,
      global,
      io,
      home,
      resolveTarget: () => resolveTarget(global.target, home),
    });
  } catch (err) {
    for (const line of errorLines(err)) io.err(line);
    if (io.env.CROSSLINK_DEBUG && err instanceof Error && err.stack) io.err(err.stack);
    return exitCodeFor(err);
  }
}
