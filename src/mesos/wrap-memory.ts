// The memory that `tessera exec` takes beside the command while it runs, rounded up from
// the peak of about 110 MiB that bench/exec-start.ts measures (docs/benchmarks.md).
export const EXEC_MEMORY_MIB = 128;

// Below this, exec's own memory is a large share of what the task asked for.
const AMPLE_MEMORY_MIB = 512;

/**
 * Returns a warning, or none, for a definition that now runs through `tessera exec` and
 * requests `mem` MiB, or sets no `mem` (undefined). Where agents enforce memory limits (the `cgroups/mem` isolator),
 * exec's own memory counts against that limit, and a task sized for its command alone
 * can be killed at start. `subject` names the app, container or task.
 */
export function execMemoryWarnings(subject: string, mem: unknown): string[] {
  if (mem === undefined) {
    return [
      `${subject} does not say how much memory it needs (mem), and tessera exec takes ` +
        'about 110 MiB beside the command on agents that enforce memory limits ' +
        `(cgroups/mem); give mem ${EXEC_MEMORY_MIB} more than the command needs`,
    ];
  }
  const mib = mebibytes(mem);
  if (mib === undefined) {
    return [
      `${subject} has mem ${printedValue(mem)}, which is not a positive, finite number of MiB; ` +
        `set mem to what the command needs plus ${EXEC_MEMORY_MIB} for tessera exec`,
    ];
  }
  if (mib >= AMPLE_MEMORY_MIB) return [];
  return [
    `${subject} asks for ${mib} MiB of memory (mem), and tessera exec takes about 110 MiB ` +
      'of it beside the command on agents that enforce memory limits (cgroups/mem); ' +
      `raise mem by ${EXEC_MEMORY_MIB}, to ${mib + EXEC_MEMORY_MIB}`,
  ];
}

/**
 * Returns the `mem` of a TaskInfo's resources in MiB, summed over its entries. An entry
 * whose value is not a positive, finite number is returned as it is, for the warning to
 * name.
 */
export function taskMemory(resources: unknown): unknown {
  if (!Array.isArray(resources)) return undefined;
  let total: number | undefined;
  for (const resource of resources as { name?: unknown; scalar?: { value?: unknown } }[]) {
    if (resource?.name !== 'mem') continue;
    const raw = resource.scalar?.value ?? null;
    const value = mebibytes(raw);
    if (value === undefined) return raw;
    total = (total ?? 0) + value;
  }
  return total;
}

// JSON.isRawJSON, like JSON.rawJSON, is in Node 24 but not in TypeScript's ES2024 library.
const isRawJson = (JSON as unknown as { isRawJSON(value: unknown): boolean }).isRawJSON;

// The value as the definition gives it, for a message. JSON.stringify prints a number
// that the parser kept as its text (JSON.rawJSON) as that text.
function printedValue(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

// A number, or one that the definition's parser kept as its text (JSON.rawJSON).
function mebibytes(value: unknown): number | undefined {
  const number = isRawJson(value) ? Number((value as { rawJSON: string }).rawJSON) : value;
  return typeof number === 'number' && Number.isFinite(number) && number > 0 ? number : undefined;
}
