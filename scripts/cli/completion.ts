/**
 * Shell completion scripts for `crosslink completion bash|zsh`: the nouns, each noun's verbs, and
 * the flags of the verb typed (its own and the global ones), made from the command table, so they
 * never drift from the CLI. zsh runs the bash function through its bashcompinit layer.
 */
import type { Command } from './command.ts';
import { GLOBAL } from './global-flags.ts';

const words = (list: Iterable<string>) => [...new Set(list)].join(' ');

/** The bash function `_crosslink` and its `complete` line. */
export function bashCompletion(commands: readonly Command[]): string {
  const nouns = words(commands.map((c) => c.noun));
  const global = words(Object.keys(GLOBAL).map((k) => `--${k}`));
  const byNoun = new Map<string, Command[]>();
  for (const c of commands) byNoun.set(c.noun, [...(byNoun.get(c.noun) ?? []), c]);
  const flags = (c: Command) => words(Object.keys(c.options ?? {}).map((k) => `--${k}`));
  // A noun that is its own command (verb '') takes flags where other nouns take a verb.
  const verbCases = [...byNoun]
    .map(([noun, list]) => {
      const own = list.find((c) => c.verb === '');
      return own
        ? `    ${noun}) COMPREPLY=($(compgen -W "${flags(own)} ${global}" -- "$cur")); return ;;`
        : `    ${noun}) COMPREPLY=($(compgen -W "${words(list.map((c) => c.verb))}" -- "$cur")); return ;;`;
    })
    .join('\n');
  const selfNouns = commands.filter((c) => c.verb === '').map((c) => c.noun);
  const flagCases = commands
    .map((c) => `    "${c.verb === '' ? c.noun : `${c.noun} ${c.verb}`}") own="${flags(c)}" ;;`)
    .join('\n');
  return `# bash completion for crosslink: eval "$(crosslink completion bash)" (e.g. in ~/.bashrc)
_crosslink() {
  local cur=\${COMP_WORDS[COMP_CWORD]} own=""
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "${nouns}" -- "$cur"))
    return
  fi
  local noun=\${COMP_WORDS[1]}
  if [[ $COMP_CWORD -eq 2 ]]; then
    case $noun in
${verbCases}
    esac
    return
  fi
  local key="$noun \${COMP_WORDS[2]}"
${selfNouns.length > 0 ? `  case $noun in ${selfNouns.join('|')}) key=$noun ;; esac\n` : ''}
  case $key in
${flagCases}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$own ${global}" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _crosslink crosslink
`;
}

/** zsh: the bash function through bashcompinit. */
export function zshCompletion(commands: readonly Command[]): string {
  return `# zsh completion for crosslink: eval "$(crosslink completion zsh)" (e.g. in ~/.zshrc)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(commands).replace(/^# bash completion.*\n/, '')}`;
}
