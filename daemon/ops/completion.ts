/**
 * `ovn-multinetd completion bash|zsh`: a completion script made by walking the commander tree
 * (its subcommands, their flags, the choices of a flag or argument), so it cannot drift from the
 * command line. Flags that take a file complete file names; zsh uses the bash script through
 * bashcompinit. Pure.
 */
import type { Command, Option } from 'commander';
import { UnreachableError } from '../errors.ts';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** A flag's names: `-o` and `--output`. */
function namesOf(option: Option): string[] {
  return [option.short, option.long].filter((n): n is string => n !== undefined);
}

const takesValue = (option: Option): boolean => option.required || option.optional;

/** The words `case` matches on (`-o|--output`). */
const pattern = (option: Option): string => namesOf(option).join('|');

/** What completes after a flag that takes a value: its choices, a file name, or nothing. */
function valueCase(option: Option): string | undefined {
  if (!takesValue(option)) return undefined;
  const choices = option.argChoices;
  if (choices !== undefined) return `        ${pattern(option)}) COMPREPLY=($(compgen -W "${choices.join(' ')}" -- "$cur")); return ;;`;
  if (/<(file|path)>/.test(option.flags)) return `        ${pattern(option)}) COMPREPLY=($(compgen -f -- "$cur")); return ;;`;
  return `        ${pattern(option)}) return ;;`;
}

/** Every flag of `command`, help included. */
function flagsOf(command: Command): string[] {
  return [...command.options.flatMap(namesOf), '--help'];
}

function commandCase(command: Command): string {
  const values = command.options.flatMap((o) => valueCase(o) ?? []);
  const args = command.registeredArguments.flatMap((a) => a.argChoices ?? []);
  return [
    `    ${command.name()})`,
    ...(values.length === 0 ? [] : ['      case "$prev" in', ...values, '      esac']),
    `      COMPREPLY=($(compgen -W "${[...flagsOf(command), ...args].join(' ')}" -- "$cur")) ;;`,
  ].join('\n');
}

export function bashCompletion(program: Command): string {
  const name = program.name();
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const top = [...program.commands.map((c) => c.name()), ...flagsOf(program)];
  return `# ${name} completion for bash, made by \`${name} completion bash\` from its own command line.
# Load it with: source <(${name} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      -*) ;;
      *) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$cmd" in
    "") COMPREPLY=($(compgen -W "${top.join(' ')}" -- "$cur")) ;;
${program.commands.map(commandCase).join('\n')}
  esac
}
complete -o default -F ${fn} ${name}
`;
}

export function completionScript(program: Command, shell: Shell): string {
  switch (shell) {
    case 'bash':
      return bashCompletion(program);
    case 'zsh':
      return `# ${program.name()} completion for zsh (the bash script through bashcompinit).
# Load it with: source <(${program.name()} completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program)}`;
    default: {
      const never: never = shell;
      throw new UnreachableError(`unknown shell ${String(never)}`);
    }
  }
}
