/**
 * Reads a response body as UTF-8 text (without a leading byte order mark, as
 * `Response.text()` does), or returns undefined as soon as it passes `maxBytes`, so that a
 * peer that floods its response cannot exhaust memory. The limit applies to the decoded
 * bytes, so a compressed body counts at its full size. Rejects with the stream's error,
 * such as the request's TimeoutError, when the body stalls or breaks.
 */
export async function readText(response: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  const encoded = response.headers.has('content-encoding');
  if (!encoded && declared > maxBytes) {
    await response.body?.cancel();
    return undefined;
  }

  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop early cancels the stream, which closes the connection.
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      return undefined;
    }
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks, size));
}
