import { InvalidArgumentError, Option } from 'commander';
import { ENVIRONMENTS } from '../lambdas/domain/scope';

/** Options several commands share, declared once here (name, value, help, checks). */
export const opt = {
  tenant: () => new Option('--tenant <id>', 'tenant id').makeOptionMandatory(),
  /** Checked against the scope by the admin client (the one place). */
  env: (required = true) => {
    const option = new Option('--env <environment>', 'environment').choices(ENVIRONMENTS);
    return required ? option.makeOptionMandatory() : option;
  },
  file: (what: string) => new Option('--file <path>', `${what} (JSON file)`).makeOptionMandatory(),
  limit: (fallback: number, max?: number) =>
    new Option('--limit <n>', `at most n rows${max ? ` (≤ ${max})` : ''}`)
      .default(fallback)
      .argParser((value) => wholeNumber(value, max)),
  dnsServer: () =>
    new Option(
      '--dns-server <host:port...>',
      'DNS server(s) to ask (default: the twin’s with --local, else the system’s)',
    ).argParser((value: string, previous: string[] | undefined) => {
      if (!/^[^\s:]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/i.test(value))
        throw new InvalidArgumentError('expected host or host:port');
      return [...(previous ?? []), value];
    }),
};

export function wholeNumber(value: string, max?: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || (max !== undefined && n > max))
    throw new InvalidArgumentError(`expected a whole number from 1${max ? ` to ${max}` : ''}`);
  return n;
}
