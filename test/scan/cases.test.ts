import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Finding } from '../../src/scan/finding.ts';
import { scanCredentialsFile } from '../../src/scan/mesos-credentials.ts';
import { scanDocument, scanText } from '../../src/scan/scan.ts';
import { triples } from './triples.ts';

const CASES = join(import.meta.dirname, '..', 'fixtures', 'cases');

function readCase(file: string): string {
  return readFileSync(join(CASES, file), 'utf8');
}

function locations(findings: Finding[]): string[] {
  return findings.map((finding) => finding.location);
}

// Every secret value in the cases contains PLACEHOLDER; none may reach a finding.
function assertNoValues(findings: Finding[], extra: string[] = []): void {
  const printed = JSON.stringify(findings);
  assert.doesNotMatch(printed, /PLACEHOLDER/);
  for (const text of extra) assert.ok(!printed.includes(text), `output contains ${text}`);
}

describe('scan of plaintext Marathon env credentials', () => {
  const file = '01-marathon-plaintext-env-credentials.json';
  const findings = scanText(readCase(file), file);

  test('finds each credential at its JSON path', () => {
    assert.deepEqual(triples(findings), [
      '$.cmd url-credentials high',
      '$.env.API_TOKEN secret-value high',
      '$.env.AWS_SECRET_ACCESS_KEY secret-value high',
      '$.env.DATABASE_PASSWORD secret-value high',
      '$.env.JAVA_OPTS secret-value high',
      '$.env.SMTP_URL url-credentials high',
      "$.labels['deploy-token'] secret-value high",
    ]);
  });

  test('leaves names that are not secrets alone', () => {
    for (const name of [
      'LOG_LEVEL',
      'PASSWORD_MIN_LENGTH',
      'DB_PASSWORD_FILE',
      'HAPROXY_0_VHOST',
    ]) {
      assert.ok(!locations(findings).includes(`$.env.${name}`), name);
    }
    const ttl = findings.filter((finding) => finding.location === '$.env.TOKEN_TTL_SECONDS');
    assert.ok(ttl.every((finding) => finding.severity === 'low'));
  });

  test('masks values and redacts URLs', () => {
    assertNoValues(findings, ['app_user', 'mailer']);
    const smtp = findings.find((finding) => finding.location === '$.env.SMTP_URL');
    assert.equal(smtp?.redacted, 'smtp://***@smtp.example.invalid:587');
    const password = findings.find((finding) => finding.location === '$.env.DATABASE_PASSWORD');
    assert.equal(password?.redacted, '****');
    assert.match(password?.message ?? '', /store it in Tessera/);
  });

  test('names the JVM property in JAVA_OPTS', () => {
    const jvm = findings.find((finding) => finding.location === '$.env.JAVA_OPTS');
    assert.match(jvm?.message ?? '', /spring\.datasource\.password/);
  });
});

describe('scan of the Mesos secret validation matrix', () => {
  const file = '07-secret-validation-matrix.json';
  const findings = scanText(readCase(file), file);
  const variable = (index: number) => `$.cases[${index}].taskInfo.command.environment.variables[0]`;

  test('reports every secret that carries value.data', () => {
    assert.deepEqual(triples(findings), [
      `${variable(1)}.value secret-value high`,
      `${variable(3)}.secret inline-secret high`,
      `${variable(5)}.secret inline-secret high`,
    ]);
  });

  test('names the REFERENCE that also carries data', () => {
    const reference = findings.find((f) => f.location === `${variable(3)}.secret`);
    assert.match(reference?.message ?? '', /^a REFERENCE secret also carries data/);
  });

  test('a VALUE secret without data is not reported', () => {
    assert.ok(!findings.some((finding) => finding.location.startsWith('$.cases[4]')));
  });

  test('masks the data', () => {
    assertNoValues(findings, ['U0VDUkVUX1ZBTFVF', 'SECRET_VALUE', 'eA==']);
  });
});

describe('scan of Docker credentials shipped with an app', () => {
  const file = '20-marathon-docker-config-in-uris.json';
  const findings = scanText(readCase(file), file);
  const auths = JSON.parse(readCase(file)).dockerConfigJsonContent.auths as Record<
    string,
    { auth: string }
  >;

  test('finds the files, the URL, the parameter and both registries', () => {
    assert.deepEqual(triples(findings), [
      "$.dockerConfigJsonContent.auths['other-registry.example.invalid'] docker-auth-unrelated high",
      "$.dockerConfigJsonContent.auths['registry.example.invalid:443'] docker-auth high",
      '$.marathonApp.container.docker.parameters[1].value secret-value high',
      '$.marathonApp.fetch[0].uri credential-file medium',
      '$.marathonApp.fetch[1].uri url-credentials high',
      '$.marathonApp.uris[0] credential-file medium',
    ]);
  });

  test('names REGISTRY_PASSWORD but not ENV', () => {
    const parameter = findings.find((f) => f.location.endsWith('parameters[1].value'));
    assert.match(parameter?.message ?? '', /REGISTRY_PASSWORD/);
    assert.ok(!locations(findings).some((location) => location.endsWith('parameters[0].value')));
  });

  test('never shows an auth field or what it decodes to', () => {
    const hidden = Object.values(auths).flatMap(({ auth }) => {
      const decoded = Buffer.from(auth, 'base64').toString();
      return [auth, decoded, ...decoded.split(':')];
    });
    assertNoValues(findings, hidden);
  });
});

describe('scan of ZooKeeper credentials in /flags and /v2/info', () => {
  const file = '22-zk-credentials-in-info-and-flags.json';
  const scenario = JSON.parse(readCase(file));
  // The scenario contains two inputs and the expected redactions. Only the inputs are scanned.
  const flags = scanDocument(scenario.mesosMasterFlags, 'flags');
  const info = scanDocument(scenario.marathonV2Info, 'info');

  test('finds each ZooKeeper URL with a password', () => {
    assert.deepEqual(triples([...flags, ...info]), [
      '$.flags.zk url-credentials high',
      '$.marathon_config.master url-credentials high',
      '$.zookeeper_config.zk url-credentials high',
    ]);
  });

  test('keeps the host list and path when redacting', () => {
    assert.equal(flags[0]?.redacted, scenario.expectedRedactions['flags.zk']);
    assert.equal(info[0]?.redacted, 'zk://***@192.0.2.10:2181,192.0.2.11:2181/mesos');
    assertNoValues([...flags, ...info], ['zk-user']);
  });

  test('takes credentials and acls as paths', () => {
    assert.ok(!locations(flags).includes('$.flags.credentials'));
    assert.ok(!locations(flags).includes('$.flags.acls'));
  });
});

describe('scan of credentials on command lines', () => {
  const file = '23-cmdline-credentials.txt';
  const findings = scanText(readCase(file), file);

  test('finds each line with its kind', () => {
    assert.deepEqual(triples(findings), [
      'line 10 url-credentials high',
      'line 2 url-credentials high',
      'line 3 url-credentials high',
      'line 4 command-substitution low',
      'line 5 secret-value high',
      'line 6 secret-value high',
      'line 8 secret-value high',
    ]);
  });

  test('leaves .file= and secret.names= lines alone', () => {
    assert.ok(!locations(findings).includes('line 7'));
    assert.ok(!locations(findings).includes('line 9'));
  });

  test('masks every value', () => {
    assertNoValues(findings, ['exporter:', 'admin:']);
    assert.ok(findings.every((finding) => finding.source === file));
  });
});

describe('scan of Mesos credentials files', () => {
  const file = '24-mesos-credentials-file-formats.json';
  const scenario = JSON.parse(readCase(file));
  const lines = scenario.legacyPlainTextCredentialsFile as string;

  test('the JSON form reports every secret', () => {
    const findings = scanDocument(scenario.jsonCredentialsFile, 'credentials.json');
    assert.deepEqual(triples(findings), [
      '$.credentials[0].secret secret-value high',
      '$.credentials[1].secret secret-value high',
    ]);
    assertNoValues(findings, ['UExBQ0VIT0xERVItbG9va3MtYmFzZTY0']);
  });

  test('the text form reports every line', () => {
    const findings = scanCredentialsFile(lines, 'credentials');
    assert.deepEqual(triples(findings), ['line 1 secret-value high', 'line 2 secret-value high']);
    assertNoValues(findings, ['marathon', 'chronos']);
  });

  test('the text form read as command lines is not reported', () => {
    assert.deepEqual(scanText(lines, 'ps'), []);
  });

  test('the JSON form given as a credentials file', () => {
    const text = JSON.stringify(scenario.jsonCredentialsFile);
    assert.equal(scanCredentialsFile(text, 'credentials.json').length, 2);
  });

  test('lines that Mesos rejects are skipped', () => {
    const text = 'one\nthree words here\n\nfw  PLACEHOLDER-two-spaces\n';
    assert.deepEqual(triples(scanCredentialsFile(text, 'credentials')), [
      'line 4 secret-value high',
    ]);
  });
});

describe('scan of commands that leak secret variables', () => {
  const file = '27-cmd-echoes-secret-env.json';
  const findings = scanText(readCase(file), file);

  test('warns on echo, served file, env and set -x', () => {
    assert.deepEqual(triples(findings), [
      '$.apps[0].cmd secret-written-to-file medium',
      '$.apps[0].container.volumes[0] secret-file-served medium',
      '$.apps[1].cmd environment-dump medium',
      '$.apps[2].cmd shell-trace medium',
    ]);
  });

  test('finds nothing in the app that reads a password file', () => {
    assert.ok(!findings.some((finding) => finding.location.startsWith('$.apps[3]')));
  });

  test('names the secret variables involved', () => {
    const byKind = new Map(findings.map((finding) => [finding.kind, finding.message]));
    assert.match(byKind.get('secret-written-to-file') ?? '', /MARATHON_ENV_SECRET/);
    assert.match(byKind.get('environment-dump') ?? '', /My_SeCrEt/);
    assert.match(byKind.get('shell-trace') ?? '', /SVC_PASSWORD/);
  });
});
