import { type Command, Option } from 'commander';
import { CAPABILITIES } from '../access/policy.ts';
import {
  checkPolicy,
  deletePolicy,
  listPolicies,
  readPolicy,
  writePolicy,
} from '../client/access.ts';
import { addressOption, clientFor, formatOption, printJson, readTextInput } from './context.ts';

// As everywhere in the CLI, 2 is a failure; here a denial is the failure it reports.
const EXIT_DENIED = 2;

const WRITE_HELP = `
A policy is JSON, as in
  {"rules": [{"path": "apps/web/*", "capabilities": ["read", "list"]}]}
Capabilities: ${CAPABILITIES.join(', ')},
or deny, which wins over every grant. A path ending in * matches every path that
starts with the rest; + as a whole segment matches any one segment (apps/+/db).
Tessera's own resources are under sys/: sys/policies/<name> and
sys/tokens/<accessor> take admin.

Examples:
  tessera policy write web ./web-policy.json
  cat web-policy.json | tessera policy write web -
`;

/** Registers `tessera policy write|read|list|delete|check`. */
export function registerPolicy(program: Command) {
  const policy = program
    .command('policy')
    .summary('write, read, list, delete and check access policies')
    .enablePositionalOptions();

  policy
    .command('write')
    .summary('create or replace a policy from a JSON file')
    .argument('<name>', 'policy name: lowercase letters, digits, - and _')
    .argument('<file>', 'the policy file, or - for standard input')
    .addOption(addressOption())
    .addHelpText('after', WRITE_HELP)
    .action(async (name: string, file: string, options) => {
      await writePolicy(clientFor(options), name, await readTextInput(file, 'the policy file'));
      process.stdout.write(`wrote policy ${name}\n`);
    });

  policy
    .command('read')
    .summary("print a policy's JSON")
    .argument('<name>', 'policy name')
    .addOption(addressOption())
    .action(async (name: string, options) => {
      const policyText = await readPolicy(clientFor(options), name);
      process.stdout.write(policyText.endsWith('\n') ? policyText : `${policyText}\n`);
    });

  policy
    .command('list')
    .summary('list policy names')
    .addOption(addressOption())
    .addOption(formatOption())
    .action(async (options) => {
      const names = await listPolicies(clientFor(options));
      if (options.format === 'json') return printJson(names);
      for (const name of names) process.stdout.write(`${name}\n`);
    });

  policy
    .command('delete')
    .summary('delete a policy')
    .argument('<name>', 'policy name')
    .addOption(addressOption())
    .action(async (name: string, options) => {
      await deletePolicy(clientFor(options), name);
      process.stdout.write(`deleted policy ${name}\n`);
    });

  policy
    .command('check')
    .summary('tell whether a token may use a capability on a path, and why')
    .requiredOption('--token-accessor <accessor>', 'accessor of the token to check')
    .requiredOption('--path <path>', 'secret or sys/ path; end it in / for a list')
    .addOption(
      new Option('--capability <capability>', 'capability to check')
        .choices([...CAPABILITIES])
        .makeOptionMandatory(),
    )
    .addOption(addressOption())
    .addOption(formatOption())
    .addHelpText('after', '\nExits 0 when allowed and 2 when denied.\n')
    .action(async (options) => {
      const decision = await checkPolicy(clientFor(options), {
        accessor: options.tokenAccessor,
        path: options.path,
        capability: options.capability,
      });
      if (options.format === 'json') printJson(decision);
      else process.stdout.write(`${describeDecision(decision)}\n`);
      if (!decision.allowed) process.exitCode = EXIT_DENIED;
    });
}

function describeDecision(decision: {
  allowed: boolean;
  policy: string | null;
  rule: string | null;
  reason: string;
}): string {
  if (!decision.allowed) return `denied: ${decision.reason}`;
  const rule = decision.rule === null ? '' : `, rule ${decision.rule}`;
  return `allowed by policy ${decision.policy}${rule}`;
}
