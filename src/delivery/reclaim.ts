// Some output goes through buffers of its own, of up to 64 KiB: reads while a slow
// destination still uses the reused buffers (see `output-reader.ts`), and chunks with
// several matches, copied into one buffer. V8 frees such buffers only in a garbage
// collection. Their memory lies outside V8's heap, so it starts one late: when every read
// took a new buffer, a command that wrote 128 MiB at full speed raised the peak memory of
// `tessera exec` from 109 to 163 MiB, counted against the task's memory limit. A collection
// of the young generation after every few MiB of output frees them much sooner. It takes
// about 0.1 ms, less when there is nothing to free.
const RECLAIM_BYTES = 8 * 1024 * 1024;

type CollectGarbage = (options: { type: 'minor' }) => void;

/**
 * Returns a function to call with the size of each chunk of output passed on. It runs a
 * young-generation collection after every 8 MiB, with the `gc` that `--expose-gc` gives
 * (the launcher passes it). Without it, the function does nothing.
 */
export function outputReclaimer(): (bytes: number) => void {
  const collect = (globalThis as { gc?: CollectGarbage }).gc;
  if (collect === undefined) return () => undefined;
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < RECLAIM_BYTES) return;
    since = 0;
    collect({ type: 'minor' });
  };
}
