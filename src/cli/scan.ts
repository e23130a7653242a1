import { type Command, Option } from 'commander';
import type { Finding, Severity } from '../scan/finding.ts';
import { scanMaster } from '../scan/master.ts';
import { scanCredentialsFile } from '../scan/mesos-credentials.ts';
import { exceeds, formatFindings, formatSummary } from '../scan/report.ts';
import { scanText } from '../scan/scan.ts';
import { formatOption, printJson, readTextInput } from './context.ts';
import {
  addMesosReadOptions,
  asUsageError,
  parseAuthorization,
  parseMasterUrl,
  parseReadLimits,
} from './mesos-options.ts';

// The exit status when a finding reaches --fail-on, the same as for a failure.
const EXIT_FINDINGS = 2;

const HELP = `
Finds secrets kept in plaintext in Mesos and Marathon definitions and in process
command lines, so that you know what to move into Tessera. A FILE that starts
with { or [ is read as JSON of any shape: a Marathon app, pod or list of them,
a TaskInfo, a LAUNCH or LAUNCH_GROUP call, a master's /state or /flags,
Marathon's /v2/info, or a Docker config.json. Any other FILE holds one command
line per line; lines starting with # are comments. --master reads the master's
/state and /flags (GET requests only) and scans both. --mesos-credentials reads
a Mesos credentials file, JSON or the text form of one 'principal secret' pair
a line, which scan does not guess from a FILE because it looks like a command.

Each finding prints as SOURCE LOCATION SEVERITY KIND: message, where LOCATION
is a JSON path or 'line N'. Values are never printed: they show as ****, and
URLs with their user information replaced by ***. The rules are heuristic: a
secret under a name that does not look secret is missed, unless it is a private
key or a Tessera or GitHub token (see docs/scan.md).

Exit status: 0 when nothing at or above --fail-on was found, 2 when something
was (or an input could not be read or parsed), 1 for a usage error.

Examples:
  tessera scan app.json
  curl -s http://marathon.example:8080/v2/apps | tessera scan --format json -
  tessera scan --master http://master.example:5050 --fail-on high
  tessera scan --mesos-credentials /etc/mesos/credentials
`;

/** Registers `tessera scan [FILE...] [--master URL]`. */
export function registerScan(program: Command) {
  const command = program
    .command('scan')
    .summary('find plaintext secrets in Mesos and Marathon definitions')
    .argument('[file...]', 'definitions or command-line lists to scan, - for standard input')
    .addOption(
      // Not TESSERA_MESOS_MASTER: set for doctor, it would make every scan of files read
      // the master too.
      new Option('--master <url>', 'also scan this Mesos master').env('TESSERA_SCAN_MASTER'),
    )
    .addOption(
      new Option('--mesos-credentials <file>', 'also scan this Mesos credentials file (repeatable)')
        .env('TESSERA_SCAN_MESOS_CREDENTIALS')
        .argParser((file: string, previous: string[] = []) => [...previous, file])
        .default([], 'none'),
    )
    .addOption(
      new Option('--fail-on <severity>', 'lowest severity that makes the exit status 2')
        .choices(['high', 'medium', 'low'])
        .env('TESSERA_SCAN_FAIL_ON')
        .default('medium'),
    )
    .addOption(formatOption().env('TESSERA_FORMAT'));
  addMesosReadOptions(command)
    .addHelpText('after', HELP)
    .action(async (files: string[], options, command: Command) => {
      const credentials: string[] = options.mesosCredentials;
      if (files.length === 0 && credentials.length === 0 && options.master === undefined) {
        command.error(
          'error: give at least one FILE (or - for standard input), --mesos-credentials FILE or --master URL',
        );
      }
      const master = asUsageError(command, () =>
        options.master === undefined ? undefined : parseMasterUrl(options.master),
      );
      const limits = parseReadLimits(command, options);
      // The secret file is read only for a master, since a scan of files sends nothing.
      const authorization =
        master === undefined ? undefined : await parseAuthorization(command, options);
      const findings = await scanInputs(files, credentials, { ...limits, master, authorization });
      if (options.format === 'json') {
        printJson(findings);
      } else {
        process.stdout.write(formatFindings(findings));
      }
      const inputs = files.length + credentials.length + (options.master === undefined ? 0 : 2);
      process.stderr.write(`tessera scan: ${formatSummary(findings, inputs)}\n`);
      if (exceeds(findings, options.failOn as Severity)) process.exitCode = EXIT_FINDINGS;
    });
}

// Reads every input before scanning, so that an unreadable or invalid file stops the
// command before any finding is printed.
async function scanInputs(
  files: string[],
  credentials: string[],
  options: { master?: URL; timeoutMs: number; maxBodyBytes: number; authorization?: string },
): Promise<Finding[]> {
  const texts = await Promise.all(files.map((file) => readTextInput(file, 'the file')));
  const credentialTexts = await Promise.all(
    credentials.map((file) => readTextInput(file, 'the Mesos credentials file')),
  );
  const findings = [
    ...texts.flatMap((text, index) => scanText(text, files[index] as string)),
    ...credentialTexts.flatMap((text, index) =>
      scanCredentialsFile(text, credentials[index] as string),
    ),
  ];
  if (options.master === undefined) return findings;
  return [...findings, ...(await scanMaster(options.master, options))];
}
