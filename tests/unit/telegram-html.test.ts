import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTelegramHtml } from '#local/fake-telegram.ts';
import { TELEGRAM_MAX_MESSAGE_CHARS } from '#shared/facts.ts';
import { escapeHtml, truncateHtml, visibleLength } from '#shared/notify/html.ts';

describe('shared/notify/html.ts', () => {
  it.each([
    ['<b>x</b> & "y"', '&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;'],
    ['&amp;', '&amp;amp;'],
    ['plain', 'plain'],
  ])('escapes %j so Telegram shows it verbatim', (text, escaped) => {
    expect(escapeHtml(text)).toBe(escaped);
    expect(parseTelegramHtml(escaped)).toMatchObject({ ok: true, text });
  });

  it('shows any text verbatim once escaped, however it is spelled', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        expect(parseTelegramHtml(`<b>${escapeHtml(text)}</b>`)).toMatchObject({ ok: true, text });
      }),
      { numRuns: 50 },
    );
  });

  it('counts entities and surrogate pairs as Telegram does', () => {
    expect(visibleLength('<b>a&amp;b</b> 😀')).toBe(6);
  });

  it('leaves a message within the limit as it is', () => {
    const html = `<b>${'x'.repeat(10)}</b>`;
    expect(truncateHtml(html, 20)).toBe(html);
  });

  it.each([
    ['a tag left open', `<b>${'x'.repeat(50)}</b> tail`, 10, '<b>xxxxxxxxx…</b>'],
    ['an entity', `${'&amp;'.repeat(30)}`, 5, '&amp;&amp;&amp;&amp;…'],
    ['a surrogate pair', '😀😀😀', 4, '😀…'],
  ])('cuts at %s without splitting it', (_case, html, limit, cut) => {
    expect(truncateHtml(html, limit)).toBe(cut);
  });

  it('cuts any escaped text inside tags to a message Telegram accepts, at most 4,096 characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 3000, maxLength: 6000 }), (text) => {
        const html = truncateHtml(`<b>title</b>\n<i>${escapeHtml(text)}</i>`, TELEGRAM_MAX_MESSAGE_CHARS);
        const parsed = parseTelegramHtml(html);
        expect(parsed.ok).toBe(true);
        if (parsed.ok) expect(parsed.text.length).toBeLessThanOrEqual(TELEGRAM_MAX_MESSAGE_CHARS);
      }),
      { numRuns: 30 },
    );
  });
});

describe('parseTelegramHtml (the fake Telegram)', () => {
  it.each([
    ['<b>open', `Can't find end tag corresponding to start tag "b"`],
    ['<script>x</script>', 'Unsupported start tag "script"'],
    ['<b><i>x</b></i>', 'Unmatched end tag'],
    ['1 < 2', 'Unsupported start tag at byte offset 2'],
    ['&nbsp;', 'Unsupported HTML entity'],
  ])('refuses %j as Telegram does', (html, detail) => {
    const parsed = parseTelegramHtml(html);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.description).toContain(`Bad Request: can't parse entities: ${detail}`);
  });

  it('reports the entities of the parsed text', () => {
    expect(parseTelegramHtml('<b>Bold</b> and <code>x &lt; y</code>')).toEqual({
      ok: true,
      text: 'Bold and x < y',
      entities: [
        { type: 'bold', offset: 0, length: 4 },
        { type: 'code', offset: 9, length: 5 },
      ],
    });
  });
});
