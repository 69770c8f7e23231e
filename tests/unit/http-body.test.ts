import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readRequestBody } from '#local/http-body.ts';

const CHUNK_BYTES = 1024;

/** A body sent in `chunks` chunks of 1 KiB, counting how many the reader pulled. */
function body(chunks: number) {
  const source = { pulled: 0 };
  const stream = Readable.from(
    (function* () {
      for (let i = 0; i < chunks; i += 1) {
        source.pulled += 1;
        yield Buffer.alloc(CHUNK_BYTES, i % 256);
      }
    })(),
    { objectMode: false, highWaterMark: CHUNK_BYTES },
  );
  return { stream, source };
}

describe('readRequestBody', () => {
  it.each([
    ['empty', 0, 10 * CHUNK_BYTES],
    ['under the limit', 3, 10 * CHUNK_BYTES],
    ['exactly at the limit', 10, 10 * CHUNK_BYTES],
  ])('returns a body %s whole', async (_case, chunks, maxBytes) => {
    const { stream } = body(chunks);
    const result = await readRequestBody(stream, maxBytes);
    expect(result.tooLarge).toBe(false);
    expect(result.tooLarge === false && result.bytes.byteLength).toBe(chunks * CHUNK_BYTES);
  });

  it('says a body over the limit is too large and stops reading it there', async () => {
    const { stream, source } = body(1000);
    expect(await readRequestBody(stream, 10 * CHUNK_BYTES)).toEqual({ tooLarge: true });
    // The 11th chunk passes the limit; what the stream buffered ahead of the reader is all that was pulled.
    expect(source.pulled).toBeLessThanOrEqual(13);
    expect(stream.readableEnded).toBe(false);
  });

  it('passes on an error of the stream', async () => {
    const stream = new Readable({ read() {} });
    const reading = readRequestBody(stream, CHUNK_BYTES);
    stream.destroy(new Error('connection reset'));
    await expect(reading).rejects.toThrow('connection reset');
  });
});
