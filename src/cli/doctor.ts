import { type Command, Option } from 'commander';
import { type DoctorReport, runDoctor } from '../mesos/doctor.ts';
import { parseCount } from '../mesos/read-options.ts';
import { formatOption, printable, printJson } from './context.ts';
import {
  addMesosReadOptions,
  asUsageError,
  parseAuthorization,
  parseMasterUrl,
  parseReadLimits,
} from './mesos-options.ts';

const HELP = `
Reads the master's /version and /state and each agent's /flags (GET requests only),
then reports per agent whether native environment and file secrets can work, which
known leaks apply, and what to change. It also lists tasks in /state with inline VALUE
secrets or with SECRET volumes in DOCKER containers. Secret data is never printed.

Masters and agents with HTTP authentication: set --principal, and put the password in
the file named by --secret-file.

Examples:
  tessera doctor --master http://master.example:5050
  tessera doctor --master http://master.example:5050 --format json
`;

// Below this many agents the report comes fast enough that a bar only adds noise.
const PROGRESS_MIN_AGENTS = 10;
const PROGRESS_WIDTH = 30;

/** Registers `tessera doctor --master URL`. */
export function registerDoctor(program: Command) {
  const command = program
    .command('doctor')
    .summary('report what a Mesos cluster supports for secrets')
    .addOption(
      new Option('--master <url>', 'Mesos master URL')
        .env('TESSERA_MESOS_MASTER')
        .makeOptionMandatory(),
    )
    .addOption(formatOption());
  addMesosReadOptions(command)
    .addOption(
      new Option('--concurrency <n>', 'agents read at the same time')
        .env('TESSERA_MESOS_CONCURRENCY')
        .default('8'),
    )
    .addHelpText('after', HELP)
    .action(async (options, command: Command) => {
      const report = await runDoctor({
        master: asUsageError(command, () => parseMasterUrl(options.master)),
        ...parseReadLimits(command, options),
        concurrency: asUsageError(command, () => parseCount(options.concurrency, '--concurrency')),
        authorization: await parseAuthorization(command, options),
        onProgress: process.stderr.isTTY ? drawProgress : undefined,
      });
      if (options.format === 'json') {
        printJson(report);
      } else {
        process.stdout.write(formatReport(report));
      }
    });
}

function drawProgress(done: number, total: number): void {
  if (total < PROGRESS_MIN_AGENTS) return;
  const filled = Math.round((done / total) * PROGRESS_WIDTH);
  const bar = '#'.repeat(filled) + '.'.repeat(PROGRESS_WIDTH - filled);
  process.stderr.write(`\r[${bar}] ${done}/${total} agents${done === total ? '\n' : ''}`);
}

/** Formats a doctor report as text for people, one block per agent. */
export function formatReport(report: DoctorReport): string {
  const lines = [`master ${report.master.url}: Mesos ${printable(report.master.version)}`];
  for (const note of report.notes) lines.push(`  note: ${note}`);
  for (const agent of report.agents) {
    lines.push(
      '',
      `agent ${printable(agent.id)} (${printable(agent.hostname)}, ${agent.address}): Mesos ${printable(agent.version)}`,
    );
    lines.push(
      `  environment secrets: ${agent.envSecrets}`,
      `  file secrets: ${agent.fileSecrets}`,
    );
    for (const finding of agent.findings) {
      lines.push(`  ${finding.severity}: ${finding.message}`, `    fix: ${finding.fix}`);
    }
  }
  lines.push(
    '',
    report.tasks.length === 0 ? 'tasks: no exposed secrets found in /state' : 'tasks:',
  );
  for (const task of report.tasks) lines.push(`  ${task.message}`);
  return `${lines.join('\n')}\n`;
}
