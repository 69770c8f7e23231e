/**
 * Telegram's HTML parse mode, the little of it the messages use: text escaped so that nothing a caller or a broker
 * wrote can become markup, and a length cut that never splits a tag, an entity or a surrogate pair.
 */

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** Text as Telegram's HTML shows it verbatim: `&`, `<`, `>` (and `"`, for attributes) as entities. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (char) => ESCAPES[char] ?? char);
}

/** One piece of HTML: a tag, an entity, or one visible character (a surrogate pair kept whole). */
const TOKEN = /<\/?[a-z-]+(?:\s[^>]*)?>|&(?:#\d+|#x[\da-f]+|[a-z]+);|[\uD800-\uDBFF][\uDC00-\uDFFF]|[\s\S]/giy;

function tagName(tag: string): string {
  return /^<\/?([a-z-]+)/i.exec(tag)?.[1]?.toLowerCase() ?? '';
}

/** How many characters Telegram counts once the entities are parsed: UTF-16 code units of the visible text. */
export function visibleLength(html: string): number {
  let length = 0;
  for (const [token] of html.matchAll(TOKEN)) {
    if (token.startsWith('<') && token.length > 1) continue;
    length += token.startsWith('&') && token.length > 1 ? 1 : token.length;
  }
  return length;
}

/**
 * `html` cut to at most `limit` visible characters, ending in `…` when cut, with every tag left open closed again.
 * Made for the well-formed HTML the messages build (escaped text inside known tags).
 */
export function truncateHtml(html: string, limit: number): string {
  if (visibleLength(html) <= limit) return html;
  const open: string[] = [];
  let kept = '';
  let length = 0;
  for (const [token] of html.matchAll(TOKEN)) {
    if (token.startsWith('<') && token.length > 1) {
      if (token.startsWith('</')) open.pop();
      else open.push(tagName(token));
      kept += token;
      continue;
    }
    const size = token.startsWith('&') && token.length > 1 ? 1 : token.length;
    if (length + size > limit - 1) break;
    kept += token;
    length += size;
  }
  return `${kept}…${open
    .reverse()
    .map((name) => `</${name}>`)
    .join('')}`;
}
