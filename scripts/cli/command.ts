/** The shape of a CLI command: `crosslink <noun> <verb> [args]`. */
import type { ParseArgsOptionDescriptor } from 'node:util';
import type { CliIO } from './io.ts';
import type { Target } from './target.ts';

export interface GlobalOptions {
  json: boolean;
  target?: string;
  as?: string;
  wait: boolean;
  /** Milliseconds, from --timeout <duration>. */
  timeout?: number;
}

export interface CommandContext {
  positionals: string[];
  options: Record<string, string | boolean | string[] | undefined>;
  global: GlobalOptions;
  io: CliIO;
  /** The folder holding config/ and .crosslink/ (the working directory). */
  home: string;
  resolveTarget(): Promise<Target>;
}

export interface Command {
  noun: string;
  verb: string;
  /** `<file>` etc., shown in help. */
  args: string;
  summary: string;
  /** One command line a user would type, shown in the verb's help. */
  example: string;
  options?: Record<string, ParseArgsOptionDescriptor & { description?: string }>;
  /** Fewest and most positionals after the verb. */
  positionals?: { min: number; max: number };
  run(ctx: CommandContext): Promise<number>;
}
