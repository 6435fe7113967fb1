/** Markup that is already safe to emit: produced by `html` or `raw` only. */
export class SafeHtml {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

/** Anything `html` accepts in a `${}`: escaped unless it is SafeHtml; lists are concatenated. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

/** Escapes text for HTML element content and quoted attribute values. */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

const render = (value: HtmlValue): string => {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
};

/**
 * Template tag for markup: every interpolated value is escaped unless it is SafeHtml, so tenant data (subjects,
 * addresses, reasons, message bodies) can only ever appear as text. `null`, `undefined` and `false` render nothing.
 */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Marks trusted markup written in this module's code (never data) as safe. */
export const raw = (markup: string): SafeHtml => new SafeHtml(markup);
