import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { TesseraError } from '../errors.ts';
import { type DoctorReport, runDoctor } from '../mesos/doctor.ts';
import { formatOption, printable, printJson } from './context.ts';

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
  program
    .command('doctor')
    .summary('report what a Mesos cluster supports for secrets')
    .addOption(
      new Option('--master <url>', 'Mesos master URL')
        .env('TESSERA_MESOS_MASTER')
        .makeOptionMandatory(),
    )
    .addOption(formatOption())
    .addOption(
      new Option('--timeout-ms <ms>', 'time allowed per request, in milliseconds')
        .env('TESSERA_MESOS_TIMEOUT_MS')
        .default('5000'),
    )
    .addOption(
      new Option('--concurrency <n>', 'agents read at the same time')
        .env('TESSERA_MESOS_CONCURRENCY')
        .default('8'),
    )
    .addOption(
      new Option('--principal <name>', 'Mesos HTTP principal').env('TESSERA_MESOS_PRINCIPAL'),
    )
    .addOption(
      new Option('--secret-file <file>', "file holding the principal's password").env(
        'TESSERA_MESOS_SECRET_FILE',
      ),
    )
    .addHelpText('after', HELP)
    .action(async (options) => {
      const report = await runDoctor({
        master: parseMasterUrl(options.master),
        timeoutMs: positiveInteger(options.timeoutMs, '--timeout-ms'),
        concurrency: positiveInteger(options.concurrency, '--concurrency'),
        authorization: await basicAuthorization(options.principal, options.secretFile),
        onProgress: process.stderr.isTTY ? drawProgress : undefined,
      });
      if (options.format === 'json') {
        printJson(report);
      } else {
        process.stdout.write(formatReport(report));
      }
    });
}

function parseMasterUrl(text: string): URL {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // Reported below with the fix.
  }
  throw new TesseraError(
    'INVALID_ARGUMENT',
    `--master must be an http or https URL, such as http://master.example:5050`,
  );
}

function positiveInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${flag} takes a positive integer; got '${printable(text)}'`,
    );
  }
  return value;
}

async function basicAuthorization(
  principal?: string,
  secretFile?: string,
): Promise<string | undefined> {
  if (principal === undefined) return undefined;
  if (secretFile === undefined) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      '--principal needs --secret-file (or TESSERA_MESOS_SECRET_FILE) with its password',
    );
  }
  let secret: string;
  try {
    secret = (await readFile(secretFile, 'utf8')).replace(/\r?\n$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `could not read --secret-file ${secretFile} (${code}); check the path`,
    );
  }
  return `Basic ${Buffer.from(`${principal}:${secret}`).toString('base64')}`;
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
