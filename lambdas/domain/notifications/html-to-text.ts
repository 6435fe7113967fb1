const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  euro: '€',
  pound: '£',
  mdash: '—',
  ndash: '–',
  hellip: '…',
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/gi, (whole, entity: string) => {
    if (entity[0] === '#') {
      const code =
        entity[1] === 'x' || entity[1] === 'X'
          ? Number.parseInt(entity.slice(2), 16)
          : Number(entity.slice(1));
      return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)
        ? String.fromCodePoint(code)
        : whole;
    }
    return ENTITIES[entity.toLowerCase()] ?? whole;
  });
}

/**
 * A readable text/plain alternative of rendered HTML, for templates without a text part: drops head, style and
 * script blocks and comments, turns block ends and `<br>` into line breaks, list items into `- ` lines, links
 * into `label (url)`, strips the remaining tags, decodes entities and tidies whitespace. Not a sanitizer —
 * the output is only ever sent as text/plain.
 */
export function htmlToText(html: string): string {
  const text = html
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<(head|style|script|title)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, '')
    .replace(
      /<a\b[^>]*?\bhref\s*=\s*(["'])(.*?)\1[^>]*>([\s\S]*?)<\/a\s*>/gi,
      (_whole, _quote, href: string, label: string) => {
        const inner = label.replace(/<[^>]*>/g, '').trim();
        const url = decodeEntities(href);
        return !inner || decodeEntities(inner) === url || url.startsWith('mailto:')
          ? inner || url
          : `${inner} (${url})`;
      },
    )
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<li\b[^>]*>/gi, '\n- ')
    .replace(/<\/(td|th)\s*>/gi, '\t')
    .replace(/<hr\b[^>]*>/gi, '\n----\n')
    .replace(/<\/tr\s*>/gi, '\n')
    .replace(/<\/?(p|div|h[1-6]|ul|ol|table|blockquote|section|article|header|footer|pre)\b[^>]*>/gi, '\n\n')
    .replace(/<[^>]*>/g, '');
  return decodeEntities(text)
    .split('\n')
    .map((line) => line.replace(/[ \t\u00a0]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
