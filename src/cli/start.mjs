// The entry point of `tessera`. It turns on Node.js's compile cache before it loads the
// CLI, so that later runs take each module's compiled code from the cache instead of
// stripping its types and compiling it again. `tessera exec` starts in every task, and
// with the cache it starts in a third less time, in a fifth less memory (docs/benchmarks.md).
// This file is JavaScript because the cache cannot serve the module that turns it on,
// and a TypeScript entry would load the type stripper for that one module.
import { enableTesseraCompileCache } from './compile-cache.mjs';

enableTesseraCompileCache();
await import('./main.ts');
