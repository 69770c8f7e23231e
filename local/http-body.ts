import type { Readable } from 'node:stream';

/**
 * The one request-body reader of the local servers (the dev server's API, the paper brokers, the fake AWS store).
 * Memory is bounded: once the body passes `maxBytes` the reader stops, keeps nothing and leaves the rest unread,
 * so the caller answers with `connection: close` (a kept-alive connection would read the rest as the next request).
 */
export type RequestBody = { readonly tooLarge: false; readonly bytes: Buffer } | { readonly tooLarge: true };

export function readRequestBody(stream: Readable, maxBytes: number): Promise<RequestBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      stream.pause();
      stop();
      chunks.length = 0;
      resolve({ tooLarge: true });
    };
    const onEnd = () => {
      stop();
      resolve({ tooLarge: false, bytes: Buffer.concat(chunks, size) });
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}
