import type { Command } from 'commander';

/** Adds a group of subcommands to the `tessera` program. */
export type RegisterCommands = (program: Command) => void;

interface CommandGroup {
  /** The top-level commands the group adds, as typed after `tessera`. */
  names: readonly string[];
  load: () => Promise<RegisterCommands>;
}

// In the order of `tessera --help`. Each group's module is loaded only when one of its
// commands runs. `tessera exec` runs in every task, its memory counted against the
// task's limit, and loading the server's modules (Fastify, pg, prom-client) as well cost
// it about 15 MiB and 200 ms (docs/benchmarks.md).
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { names: ['server'], load: async () => (await import('./server.ts')).registerServer },
  { names: ['put'], load: async () => (await import('./put.ts')).registerPut },
  {
    names: ['get', 'list', 'metadata'],
    load: async () => (await import('./read.ts')).registerRead,
  },
  {
    names: ['delete', 'undelete', 'destroy'],
    load: async () => (await import('./delete.ts')).registerDelete,
  },
  { names: ['import'], load: async () => (await import('./import.ts')).registerImport },
  { names: ['exec'], load: async () => (await import('./exec.ts')).registerExec },
  { names: ['token'], load: async () => (await import('./token.ts')).registerToken },
  { names: ['policy'], load: async () => (await import('./policy.ts')).registerPolicy },
  {
    names: ['login-role'],
    load: async () => (await import('./login-role.ts')).registerLoginRole,
  },
  { names: ['doctor'], load: async () => (await import('./doctor.ts')).registerDoctor },
  { names: ['wrap'], load: async () => (await import('./wrap.ts')).registerWrap },
  { names: ['scan'], load: async () => (await import('./scan.ts')).registerScan },
  { names: ['tasks'], load: async () => (await import('./tasks.ts')).registerTasks },
  { names: ['audit'], load: async () => (await import('./audit.ts')).registerAudit },
  {
    names: ['rotate', 'rotation', 'promote', 'rollback', 'history'],
    load: async () => (await import('./rotate.ts')).registerRotation,
  },
];

/**
 * Returns the functions that add the commands `tessera` needs for these arguments, the
 * words after `tessera`. That is the group of the command named first. Help, an option
 * or an unknown command get every group, so that they can list or suggest any command.
 */
export async function commandsFor(args: readonly string[]): Promise<RegisterCommands[]> {
  const named = COMMAND_GROUPS.find((group) => group.names.includes(args[0] ?? ''));
  const groups = named === undefined ? COMMAND_GROUPS : [named];
  return Promise.all(groups.map((group) => group.load()));
}
