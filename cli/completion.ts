import type { Command } from 'commander';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface Node {
  readonly name: string;
  readonly options: readonly string[];
  readonly children: readonly Node[];
}

function tree(command: Command): Node {
  return {
    name: command.name(),
    options: command.options.map((o) => o.long ?? o.short ?? '').filter(Boolean),
    children: command.commands.map(tree),
  };
}

/** A completion script for the command tree: groups, then commands, then each command's and the global options. */
export function completionScript(program: Command, shell: Shell): string {
  const root = tree(program);
  const globals = root.options.join(' ');
  if (shell === 'fish') {
    const lines = ['complete -c tenant-mail -f'];
    for (const option of root.options) lines.push(`complete -c tenant-mail -l ${option.replace(/^--/, '')}`);
    for (const group of root.children) {
      lines.push(`complete -c tenant-mail -n __fish_use_subcommand -a ${group.name}`);
      for (const command of group.children) {
        lines.push(
          `complete -c tenant-mail -n "__fish_seen_subcommand_from ${group.name}; and not __fish_seen_subcommand_from ${group.children.map((c) => c.name).join(' ')}" -a ${command.name}`,
        );
        for (const option of command.options)
          lines.push(
            `complete -c tenant-mail -n "__fish_seen_subcommand_from ${command.name}" -l ${option.replace(/^--/, '')}`,
          );
      }
      for (const option of group.children.length === 0 ? group.options : [])
        lines.push(
          `complete -c tenant-mail -n "__fish_seen_subcommand_from ${group.name}" -l ${option.replace(/^--/, '')}`,
        );
    }
    return lines.join('\n');
  }
  const cases = root.children.map((group) => {
    const inner = group.children
      .map((command) => `        ${command.name}) words="${[...command.options, globals].join(' ')}" ;;`)
      .join('\n');
    const subcommands = group.children.map((c) => c.name).join(' ');
    return [
      `    ${group.name})`,
      group.children.length === 0
        ? `      words="${[...group.options, globals].join(' ')}"`
        : [
            '      if [ "$COMP_CWORD" -eq 2 ]; then',
            `        words="${subcommands}"`,
            '      else',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: bash syntax, not a template
            '        case "${COMP_WORDS[2]}" in',
            inner,
            `        *) words="${globals}" ;;`,
            '        esac',
            '      fi',
          ].join('\n'),
      '      ;;',
    ].join('\n');
  });
  const bash = [
    '# tenant-mail completion (bash): eval "$(tenant-mail completion bash)"',
    '_tenant_mail() {',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash syntax, not a template
    '  local cur="${COMP_WORDS[COMP_CWORD]}" words',
    '  if [ "$COMP_CWORD" -eq 1 ]; then',
    `    words="${root.children.map((g) => g.name).join(' ')} ${globals} --help"`,
    '  else',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash syntax, not a template
    '    case "${COMP_WORDS[1]}" in',
    ...cases,
    `    *) words="${globals}" ;;`,
    '    esac',
    '  fi',
    '  COMPREPLY=($(compgen -W "$words --help" -- "$cur"))',
    '}',
    'complete -F _tenant_mail tenant-mail',
  ].join('\n');
  if (shell === 'bash') return bash;
  return [
    '# tenant-mail completion (zsh): eval "$(tenant-mail completion zsh)"',
    'autoload -U +X bashcompinit && bashcompinit',
    ...bash.split('\n').slice(1),
  ].join('\n');
}
