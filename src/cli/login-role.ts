import type { Command } from 'commander';

import { checkPolicyName } from '../access/policy.ts';
import { deleteLoginRole, listLoginRoles, readLoginRole, writeLoginRole } from '../client/login.ts';
import { checkDuplicateKeys } from '../mesos/definition-json.ts';
import { parseJson } from '../mesos/json.ts';
import { addressOption, clientFor, formatOption, printJson, readTextInput } from './context.ts';
import { asUsageError } from './mesos-options.ts';

const WRITE_HELP = `
A login role is JSON. It names the policies of the token that a Mesos task
gets, and the tasks that may log in under it. Every constraint it gives must
hold, and it gives at least one of framework_names, framework_principals,
roles (the task's allocation roles, else its framework's) and labels (labels
the task must carry, each with this value):
  {"policies": ["billing-read"],
   "framework_names": ["marathon"],
   "labels": {"tessera-role": "billing"},
   "token_ttl": "1h", "token_max_ttl": "0s"}
The token lasts token_ttl (default 1h) and renews up to token_max_ttl (default
0s: no limit but the task's end); it is revoked when the task ends. A task
names its role in TESSERA_LOGIN_ROLE, and the server must follow the Mesos
master (tessera server --mesos-master).

Examples:
  tessera login-role write billing ./billing-role.json
  cat billing-role.json | tessera login-role write billing -
`;

/** Registers `tessera login-role write|read|list|delete`. */
export function registerLoginRole(program: Command) {
  const command = program
    .command('login-role')
    .summary('write, read, list and delete the login roles of Mesos tasks')
    .enablePositionalOptions();

  command
    .command('write')
    .summary('create or replace a login role from a JSON file')
    .argument('<name>', 'role name: lowercase letters, digits, - and _')
    .argument('<file>', 'the role file, or - for standard input')
    .addOption(addressOption())
    .addHelpText('after', WRITE_HELP)
    .action(async (name: string, file: string, options, command: Command) => {
      checkRoleName(command, name);
      const text = await readTextInput(file, 'the login role file');
      await writeLoginRole(clientFor(options), name, parseRoleFile(text, file));
      process.stdout.write(`wrote login role ${name}\n`);
    });

  command
    .command('read')
    .summary('print a login role as JSON, with every default')
    .argument('<name>', 'role name')
    .addOption(addressOption())
    .action(async (name: string, options, command: Command) => {
      checkRoleName(command, name);
      printJson(await readLoginRole(clientFor(options), name));
    });

  command
    .command('list')
    .summary('list login role names')
    .addOption(addressOption())
    .addOption(formatOption())
    .action(async (options) => {
      const names = await listLoginRoles(clientFor(options));
      if (options.format === 'json') return printJson(names);
      for (const name of names) process.stdout.write(`${name}\n`);
    });

  command
    .command('delete')
    .summary('delete a login role')
    .argument('<name>', 'role name')
    .addOption(addressOption())
    .action(async (name: string, options, command: Command) => {
      checkRoleName(command, name);
      await deleteLoginRole(clientFor(options), name);
      process.stdout.write(`deleted login role ${name}\n`);
    });
}

// The role is sent as parsed JSON, which keeps one of two equal keys, so they are checked
// here, where the line and column are those of the file.
function parseRoleFile(text: string, file: string): unknown {
  const what = `login role file ${file}`;
  const role = parseJson(text, what);
  checkDuplicateKeys(text, what);
  return role;
}

// A name the server would reject is a usage error (exit status 1), as a bad flag value is.
function checkRoleName(command: Command, name: string): void {
  asUsageError(command, () => checkPolicyName(name, 'login role name'));
}
