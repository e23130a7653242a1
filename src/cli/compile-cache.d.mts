// Types of compile-cache.mjs, which is JavaScript because it runs before the cache is on.

/** Turns on Node.js's compile cache; returns the directory in use, or undefined. */
export function enableTesseraCompileCache(env?: NodeJS.ProcessEnv): string | undefined;

/** Returns `HOME/.cache/tessera` when it is the user's own and private; else undefined. */
export function personalCacheDir(home: string | undefined): string | undefined;
