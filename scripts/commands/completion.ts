/** `crosslink completion bash|zsh`: prints the shell's completion script (scripts/cli/completion.ts). */
import type { Command } from '../cli/command.ts';
import { bashCompletion, zshCompletion } from '../cli/completion.ts';
import { EXIT } from '../cli/errors.ts';

/** The completion verbs over `all()`, the whole command table (theirs included). */
export function completionCommands(all: () => readonly Command[]): Command[] {
  return (['bash', 'zsh'] as const).map((shell) => ({
    noun: 'completion',
    verb: shell,
    args: '',
    summary: `print the ${shell} completion script: nouns, verbs and each verb's flags`,
    example: `crosslink completion ${shell} > ~/.crosslink-completion.${shell}`,
    async run(ctx) {
      const script = shell === 'bash' ? bashCompletion(all()) : zshCompletion(all());
      for (const line of script.replace(/\n$/, '').split('\n')) ctx.io.out(line);
      return EXIT.ok;
    },
  }));
}
