import type { Command } from 'commander';

import { listTaskVersions } from '../client/tasks.ts';
import { addressOption, clientFor, formatOption, printable, printJson } from './context.ts';

const HELP = `
Lists the tasks that received a version of the secret, as tessera exec reports it
after each resolution, and marks those that run an older version than the current
one. The server keeps these records in memory, so they start empty after a restart.

Example:
  tessera tasks --path billing/db
`;

/** Registers `tessera tasks --path P`. */
export function registerTasks(program: Command) {
  program
    .command('tasks')
    .summary('list the tasks that received each version of a secret')
    .requiredOption('--path <path>', 'secret path')
    .addOption(formatOption())
    .addOption(addressOption())
    .addHelpText('after', HELP)
    .action(async (options) => {
      const listing = await listTaskVersions(clientFor(options), options.path);
      if (options.format === 'json') {
        printJson(listing);
        return;
      }
      const current = listing.current_version ?? 'none';
      process.stdout.write(`${printable(listing.path)}: current version ${current}\n`);
      for (const task of listing.tasks) {
        const mark = task.outdated ? '  outdated' : '';
        process.stdout.write(
          `${printable(task.task_id)}  version ${task.version}  ${task.reported_time}${mark}\n`,
        );
      }
    });
}
