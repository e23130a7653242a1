import type { Command } from 'commander';
import { addressOption, clientFor, parseVersions } from './context.ts';

/** Registers `tessera delete`, `tessera undelete` and `tessera destroy`. */
export function registerDelete(program: Command) {
  program
    .command('delete')
    .summary('soft-delete versions of a secret (undelete can restore them)')
    .argument('<path>', 'secret path')
    .option('--versions <list>', 'versions to delete, e.g. 1,3 (default: the current one)')
    .addOption(addressOption())
    .action(async (path: string, options) => {
      // An empty --versions (say, from an unset shell variable) is an error, not "current".
      const versions = options.versions === undefined ? undefined : parseVersions(options.versions);
      await clientFor(options).delete(path, versions);
      process.stdout.write(
        `deleted ${path} ${versions ? `versions ${versions.join(',')}` : 'current version'}\n`,
      );
    });

  program
    .command('undelete')
    .summary('restore soft-deleted versions of a secret')
    .argument('<path>', 'secret path')
    .requiredOption('--versions <list>', 'versions to restore, e.g. 2,3')
    .addOption(addressOption())
    .action(async (path: string, options) => {
      const versions = parseVersions(options.versions);
      await clientFor(options).undelete(path, versions);
      process.stdout.write(`restored ${path} versions ${versions.join(',')}\n`);
    });

  program
    .command('destroy')
    .summary('erase versions of a secret for good')
    .argument('<path>', 'secret path')
    .requiredOption('--versions <list>', 'versions to erase, e.g. 1,2')
    .addOption(addressOption())
    .action(async (path: string, options) => {
      const versions = parseVersions(options.versions);
      await clientFor(options).destroy(path, versions);
      process.stdout.write(`destroyed ${path} versions ${versions.join(',')}\n`);
    });
}
