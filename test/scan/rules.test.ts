import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { imageRegistry, normalizeRegistry } from '../../src/scan/docker-config.ts';
import { checkNamedValue } from '../../src/scan/named-value.ts';
import { classifyName } from '../../src/scan/names.ts';
import { scanDocument, scanText } from '../../src/scan/scan.ts';
import { parseCommands } from '../../src/scan/shell.ts';
import { redactUrls, urlDetections } from '../../src/scan/urls.ts';
import { triples } from './triples.ts';

function kinds(document: unknown): string[] {
  return scanDocument(document, 'test').map((f) => `${f.location} ${f.kind} ${f.severity}`);
}

describe('secret-like names', () => {
  const cases: [string, ReturnType<typeof classifyName>][] = [
    ['DATABASE_PASSWORD', 'secret'],
    ['db.passwd', 'secret'],
    ['MYSQL_PWD', 'secret'],
    ['apiKey', 'secret'],
    ['X-Auth-Token', 'secret'],
    ['basicAuth', 'secret'],
    ['AWS_ACCESS_KEY_ID', 'secret'],
    ['ssh-private-key', 'secret'],
    ['GIT_CREDENTIALS', 'secret'],
    ['authenticate_frameworks', undefined],
    ['AUTHOR', undefined],
    ['LOG_LEVEL', undefined],
    ['DB_PASSWORD_FILE', undefined],
    ['spark.mesos.secret.file', undefined],
    ['spark.mesos.driver.secret.names', undefined],
    ['SECRETS_DIR', undefined],
    ['PASSWORD_MIN_LENGTH', 'measure'],
    ['TOKEN_TTL_SECONDS', 'measure'],
    ['DB_PASS', 'secret'],
    ['RABBITMQ_DEFAULT_PASS', 'secret'],
    ['SSH_KEY_PASSPHRASE', 'secret'],
    ['DB_CREDS', 'secret'],
    ['PASSAGE', undefined],
    ['BYPASS_CACHE', undefined],
    ['AUTH_URL', undefined],
    ['TOKEN_ENDPOINT', undefined],
    ['TOKEN_ISSUER', undefined],
    ['PASSWORD_RESET_URL', undefined],
    ['AUTH_MODE', undefined],
    ['secret_resolver', undefined],
    ['credsStore', undefined],
    ['SECRET_STORE', undefined],
    ['GIT_CREDENTIAL_HELPER', undefined],
    ['credential.helper', undefined],
  ];
  for (const [name, expected] of cases) {
    test(`${name} reads as ${expected ?? 'not secret'}`, () => {
      assert.equal(classifyName(name), expected);
    });
  }
});

// A shell reference `${NAME}`, written so that it does not read as a template literal.
const BRACED_REFERENCE = '$' + '{DB_PASSWORD}';

describe('values of secret-like names', () => {
  const harmless = ['', '12', 'true', '$DB_PASSWORD', BRACED_REFERENCE, '/etc/mesos/creds'];
  for (const value of harmless) {
    test(`'${value}' is not reported`, () => {
      assert.equal(checkNamedValue('DB_PASSWORD', value, '$.x', 'field'), undefined);
    });
  }

  test('command substitution is low', () => {
    const found = checkNamedValue('DB_PASSWORD', '$(cat /run/pw)', '$.x', 'field');
    assert.equal(found?.kind, 'command-substitution');
    assert.equal(found?.severity, 'low');
  });

  test('a measure with a word value is low', () => {
    const found = checkNamedValue('TOKEN_TTL_SECONDS', 'one-hour', '$.x', 'field');
    assert.equal(found?.severity, 'low');
  });

  test('a Marathon secret reference is not reported', () => {
    const app = {
      id: '/ref',
      env: { DB_PASSWORD: { secret: 'db' } },
      secrets: { db: { source: 'team/db@password' } },
      container: { type: 'MESOS', volumes: [{ containerPath: 'pw', secret: 'db' }] },
    };
    assert.deepEqual(kinds(app), []);
  });

  test('a credentials flag that is a path is not reported', () => {
    const flags = { credentials: '/etc/mesos/credentials', acls: 'file:///etc/mesos/acls.json' };
    assert.deepEqual(kinds({ flags }), []);
  });

  test('a credentials value with spaces is reported', () => {
    const flags = { credentials: 'PLACEHOLDER correct horse battery staple' };
    assert.deepEqual(kinds({ flags }), ['$.flags.credentials secret-value high']);
  });

  test('a Mesos credentials entry is reported', () => {
    const credentials = { credentials: [{ principal: 'fw', secret: 'PLACEHOLDER-cred' }] };
    assert.deepEqual(kinds(credentials), ['$.credentials[0].secret secret-value high']);
  });
});

describe('URLs with credentials', () => {
  test('redact user information and keep every host', () => {
    const url = 'zk://u:PLACEHOLDER-zk@192.0.2.10:2181,192.0.2.11:2181/mesos';
    assert.equal(redactUrls(`--zk=${url}`), '--zk=zk://***@192.0.2.10:2181,192.0.2.11:2181/mesos');
  });

  test('a password that contains @ is redacted whole', () => {
    const [found] = urlDetections('https://u:PLACEHOLDER@x@h.example.invalid/p', '$');
    assert.equal(found?.redacted, 'https://***@h.example.invalid…');
  });

  test('a compound scheme is still read', () => {
    const [found] = urlDetections('git+ssh://deploy:PLACEHOLDER-g@git.example.invalid/r', '$');
    assert.equal(found?.redacted, 'git+ssh://***@git.example.invalid…');
  });

  test('a user without a password is not reported', () => {
    assert.deepEqual(urlDetections('https://deploy@h.example.invalid/', '$'), []);
  });

  test('a password from a variable is not reported', () => {
    assert.deepEqual(
      urlDetections(`postgres://app:${BRACED_REFERENCE}@db.example.invalid/app`, '$'),
      [],
    );
  });

  test('a secret query parameter is reported and masked', () => {
    const [found] = urlDetections('postgres://db.example.invalid/app?password=PLACEHOLDER-q', '$');
    assert.equal(found?.kind, 'url-credentials');
    assert.equal(found?.redacted, 'postgres://db.example.invalid…');
  });
});

describe('shell command parsing', () => {
  test('splits at control operators and keeps redirections apart', () => {
    const commands = parseCommands('cd /x; echo "$A b" > out.txt 2>&1 && env | sort');
    assert.deepEqual(
      commands.map((command) => command.words.map((word) => word.text)),
      [['cd', '/x'], ['echo', '$A b'], ['env'], ['sort']],
    );
    assert.deepEqual(
      commands[1]?.redirects.map((redirect) => [redirect.operator, redirect.target?.text]),
      [
        ['>', 'out.txt'],
        ['>&', '1'],
      ],
    );
  });

  test('keeps a command substitution in one word', () => {
    const [command] = parseCommands('run -e "A=$(cat "/x y")" --flag');
    assert.deepEqual(
      command?.words.map((word) => word.text),
      ['run', '-e', 'A=$(cat "/x y")', '--flag'],
    );
  });

  test('an unterminated quote runs to the end', () => {
    const [command] = parseCommands("echo 'open");
    assert.deepEqual(
      command?.words.map((word) => word.text),
      ['echo', 'open'],
    );
  });
});

describe('command-line options', () => {
  test('an argument list pairs --name with the next word', () => {
    const task = {
      command: { value: './run', arguments: ['./run', '--password', 'PLACEHOLDER-a'] },
    };
    assert.deepEqual(kinds(task), ['$.command.arguments[2] secret-value high']);
  });

  test('docker -e in an argument list is an environment variable', () => {
    const app = { args: ['-e', 'API_TOKEN=PLACEHOLDER-b'] };
    const [found] = scanDocument(app, 'test');
    assert.equal(found?.location, '$.args[1]');
    assert.match(found?.message ?? '', /^environment variable API_TOKEN/);
  });

  test('comment and blank lines are skipped', () => {
    assert.deepEqual(scanText('# --password=PLACEHOLDER-c\n\n', 'lines'), []);
  });
});

describe('secret leaks in commands', () => {
  const secretEnv = {
    environment: {
      variables: [
        {
          name: 'DB_PW',
          type: 'SECRET',
          secret: { type: 'REFERENCE', reference: { name: '/db' } },
        },
      ],
    },
  };

  function taskWith(command: string) {
    return { task_id: { value: 't' }, command: { value: command, ...secretEnv } };
  }

  const cases: [string, string[]][] = [
    ['env', ['$.command.value environment-dump medium']],
    ['printenv > /tmp/all', ['$.command.value environment-dump medium']],
    ['export -p', ['$.command.value environment-dump medium']],
    ['env FOO=1 ./run', []],
    ['set -eux; ./run', ['$.command.value shell-trace medium']],
    ['set -o xtrace', ['$.command.value shell-trace medium']],
    ['bash -x ./start.sh', ['$.command.value shell-trace medium']],
    ["sh -c 'printenv'", ['$.command.value environment-dump medium']],
    ['echo "$DB_PW" >> /tmp/pw', ['$.command.value secret-written-to-file medium']],
    ['echo $DB_PW > /dev/null', []],
    ['echo $OTHER > out', []],
    ['./run --password-file secrets/pw', []],
  ];
  for (const [command, expected] of cases) {
    test(`'${command}'`, () => {
      assert.deepEqual(kinds(taskWith(command)), expected);
    });
  }

  test('no finding when the task has no secret variables', () => {
    assert.deepEqual(kinds({ cmd: 'set -x; env; echo $DB_PW > f' }), []);
  });

  test('a Mesos SECRET volume in a served directory', () => {
    const task = {
      command: { value: 'python3 -m http.server -d public 8080' },
      container: {
        type: 'MESOS',
        volumes: [
          {
            container_path: 'public/key.pem',
            source: { type: 'SECRET', secret: { type: 'REFERENCE', reference: { name: '/k' } } },
          },
          {
            container_path: 'private/db',
            source: { type: 'SECRET', secret: { type: 'REFERENCE', reference: { name: '/d' } } },
          },
        ],
      },
    };
    assert.deepEqual(kinds(task), ['$.container.volumes[0] secret-file-served medium']);
  });
});

describe('Docker config content', () => {
  const auth = Buffer.from('ci:PLACEHOLDER-docker').toString('base64');

  test('a config alone reports each registry without judging it', () => {
    const config = {
      auths: { 'https://index.docker.io/v1/': { auth }, 'r.example.invalid': { auth } },
    };
    assert.deepEqual(kinds(config), [
      "$.auths['https://index.docker.io/v1/'] docker-auth high",
      "$.auths['r.example.invalid'] docker-auth high",
    ]);
  });

  test('credsStore and credHelpers name helpers, not credentials', () => {
    const config = {
      auths: { 'r.example.invalid': { auth } },
      credsStore: 'desktop',
      credHelpers: { 'ecr.example.invalid': 'ecr-login' },
    };
    assert.deepEqual(kinds(config), ["$.auths['r.example.invalid'] docker-auth high"]);
  });

  test('Docker Hub names match an image without a registry', () => {
    assert.equal(imageRegistry('nginx:1.27'), 'docker.io');
    assert.equal(imageRegistry('library/nginx'), 'docker.io');
    assert.equal(imageRegistry('localhost/app'), 'localhost');
    assert.equal(normalizeRegistry('https://index.docker.io/v1/'), 'docker.io');
  });

  test('invalid base64 is reported without its text', () => {
    const findings = scanDocument(
      { auths: { 'r.example.invalid': { auth: 'PLACEHOLDER!!' } } },
      'c',
    );
    assert.match(findings[0]?.message ?? '', /not valid base64/);
    assert.doesNotMatch(JSON.stringify(findings), /PLACEHOLDER/);
  });

  test('a .netrc in Mesos command URIs is a credential file', () => {
    const task = {
      command: { value: './run', uris: [{ value: 'https://files.example.invalid/.netrc' }] },
    };
    assert.deepEqual(kinds(task), ['$.command.uris[0].value credential-file medium']);
  });
});

describe('JSON walk', () => {
  test('an inline VALUE secret is reported', () => {
    const variable = {
      name: 'X',
      type: 'SECRET',
      secret: { type: 'VALUE', value: { data: 'UExBQ0VIT0xERVI=' } },
    };
    assert.deepEqual(kinds({ command: { environment: { variables: [variable] } } }), [
      '$.command.environment.variables[0].secret inline-secret high',
    ]);
  });

  test('deep nesting does not overflow the stack', () => {
    const depth = 50_000;
    const text = `${'{"a":'.repeat(depth)}{"DB_PASSWORD":"PLACEHOLDER-deep"}${'}'.repeat(depth)}`;
    const findings = scanText(text, 'deep');
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.kind, 'secret-value');
  });

  test('a very wide array does not overflow the stack', () => {
    const tasks = Array.from({ length: 200_000 }, () => ({}));
    const document = {
      frameworks: [{ tasks: [...tasks, { labels: { TOKEN: 'PLACEHOLDER-w' } }] }],
    };
    assert.equal(scanDocument(document, 'wide').length, 1);
  });
});

// Every printed part of a finding: where the canary must never appear.
function printed(document: unknown): string {
  return JSON.stringify(scanDocument(document, 'test'));
}

describe('nothing secret in what is printed', () => {
  const urls = [
    'https://a.example.invalid/b.tgz?X-Amz-Signature=CANARY-q1&X-Amz-Credential=AKIAX',
    'https://u:p@h.example.invalid/api?key=CANARY-q2',
    'https://u:p@h.example.invalid/cb#access_token=CANARY-q3',
    'https://u:p@h.example.invalid/app;jsessionid=CANARY-q4',
    'https://u:p@hooks.example.invalid/services/CANARY-q5',
    'https://deploy:Pa/CANARY-q6@f.example.invalid/.netrc',
    'https://f.example.invalid/docker.tar.gz?sig=CANARY-q7',
  ];
  for (const url of urls) {
    test(`redacts ${url.replace(/CANARY-q\d/, 'CANARY')}`, () => {
      const text = printed({ fetch: [{ uri: url }], env: { SERVICE_URL: url } });
      assert.equal(text.includes('CANARY'), false, text);
    });
  }

  test('cuts variable names at their =', () => {
    const task = {
      command: {
        value: 'env',
        environment: {
          variables: [
            { name: 'DB_PASSWORD=CANARY-n1', type: 'SECRET', secret: { type: 'REFERENCE' } },
            { name: 'API_TOKEN=CANARY-n2', value: 'x' },
          ],
        },
      },
      env: { 'LABEL_TOKEN=CANARY-n3': 'literal' },
    };
    const text = printed(task);
    assert.equal(text.includes('CANARY'), false, text);
  });

  test('masks a token used as a key', () => {
    const token = `tsr_${'CANARY-k2_'.padEnd(43, 'x')}`;
    const github = `ghp_${'CANARYk3'.padEnd(36, 'y')}`;
    const document = { [token]: { DB_PASSWORD: 'literal' }, [`x-${github}`]: { API_TOKEN: 'v' } };
    const findings = scanDocument(document, 'test');
    assert.equal(findings.length, 2);
    assert.equal(findings[0]?.location, "$['****'].DB_PASSWORD");
    const text = JSON.stringify(findings);
    assert.equal(text.includes('CANARY'), false, text);
  });

  test('redacts a registry URL used as a key', () => {
    const config = { auths: { 'https://u:CANARY-k1@weird.example.invalid/v2/': { auth: 'dTpw' } } };
    const text = printed(config);
    assert.equal(text.includes('CANARY'), false, text);
  });
});

describe('names about a secret', () => {
  test('a URL with a password under such a name is still reported', () => {
    const found = kinds({ env: { AUTH_URL: 'https://svc:PLACEHOLDER-au@auth.example.invalid/' } });
    assert.deepEqual(found, ['$.env.AUTH_URL url-credentials high']);
  });

  test('a URL without credentials under such a name is not', () => {
    assert.deepEqual(kinds({ env: { TOKEN_ENDPOINT: 'https://auth.example.invalid/token' } }), []);
  });
});

describe('password options of common clients', () => {
  const lines: [string, boolean][] = [
    ['curl -u admin:PLACEHOLDER-c1 https://api.example.invalid/', true],
    ['curl --user admin:$PW https://api.example.invalid/', false],
    ['curl -u admin https://api.example.invalid/', false],
    ['mysql -uroot -pPLACEHOLDER-c2 appdb', true],
    ['mysql -uroot -p appdb', false],
    ['redis-cli -h cache -a PLACEHOLDER-c3 ping', true],
    ['sshpass -p PLACEHOLDER-c4 ssh deploy@host', true],
    ['ldapsearch -x -D cn=admin -w PLACEHOLDER-c5', true],
    ['java -jar app.jar -password PLACEHOLDER-c6', true],
    ['docker run --env=API_TOKEN=PLACEHOLDER-c7 example/app', true],
    ["sh -c './run --password PLACEHOLDER-c9'", true],
    ['DEBUG=1 curl -u admin:PLACEHOLDER-c10 https://api.example.invalid/', true],
    ["exec tessera exec -- /bin/sh -c 'curl -u admin:PLACEHOLDER-c11 https://a.invalid/'", true],
  ];
  for (const [line, expected] of lines) {
    test(`${line.split(' ')[0]} ${expected ? 'reported' : 'not reported'}: ${line.slice(0, 30)}`, () => {
      const findings = scanText(`${line}\n`, 'ps');
      assert.equal(
        findings.some((finding) => finding.severity === 'high'),
        expected,
      );
      assert.equal(JSON.stringify(findings).includes('PLACEHOLDER'), false);
    });
  }

  test('the text of sh -c is reported once', () => {
    const findings = scanText("sh -c 'DB_PASSWORD=PLACEHOLDER-c12 ./run'\n", 'ps');
    assert.equal(findings.length, 1);
    assert.match(findings[0]?.message ?? '', /^variable DB_PASSWORD/);
  });

  test('sh -c in an argument list is read', () => {
    const app = { args: ['sh', '-c', './run --token PLACEHOLDER-c13'] };
    assert.deepEqual(kinds(app), ['$.args[2] secret-value high']);
  });

  test("a pod container's argv is read", () => {
    const pod = {
      containers: [{ exec: { command: { argv: ['./srv', '--token', 'PLACEHOLDER-c8'] } } }],
    };
    assert.deepEqual(kinds(pod), ['$.containers[0].exec.command.argv[2] secret-value high']);
  });
});

describe('reading inputs', () => {
  test('ps output that starts with a kernel thread reads as command lines', () => {
    const findings = scanText('[kthreadd]\n/usr/bin/app --password PLACEHOLDER-r1\n', 'ps');
    assert.deepEqual(
      findings.map((finding) => finding.location),
      ['line 2'],
    );
  });

  test('a byte order mark before JSON is skipped', () => {
    const findings = scanText('\uFEFF{"env":{"DB_PASSWORD":"PLACEHOLDER-r2"}}', 'bom.json');
    assert.deepEqual(
      findings.map((finding) => finding.location),
      ['$.env.DB_PASSWORD'],
    );
  });
});

describe('keys named like Object members', () => {
  test('__proto__ reads as an ordinary name', () => {
    const findings = scanText('{"__proto__": {"DB_PASSWORD": "PLACEHOLDER-p1"}}', 'proto.json');
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.location, '$.__proto__.DB_PASSWORD');
    assert.match(findings[0]?.message ?? '', /^field DB_PASSWORD has/);
  });

  test('constructor reads as an ordinary name', () => {
    const findings = scanText('{"constructor": {"API_TOKEN": "PLACEHOLDER-p2"}}', 'c.json');
    assert.match(findings[0]?.message ?? '', /^field API_TOKEN has/);
  });

  test('an array under __proto__ holds fields', () => {
    const text = '{"__proto__": [{"name": "DB_PASSWORD", "value": "PLACEHOLDER-p3"}]}';
    const findings = scanText(text, 'pairs.json');
    assert.match(findings[0]?.message ?? '', /^field DB_PASSWORD has/);
  });

  test('a program named __proto__ or toString is not a client', () => {
    const findings = scanText(
      '__proto__ -u a:PLACEHOLDER-p4\ntoString -u a:PLACEHOLDER-p5\n',
      'ps',
    );
    assert.deepEqual(findings, []);
  });
});

describe('URLs with a token as the user name', () => {
  const tokens = [
    'ghp_PLACEHOLDER0123456789abcdefghijklmnopq',
    `tsr_${'PLACEHOLDER0123456789_-'.padEnd(43, 'x')}`,
    'PLACEHOLDER0123456789abcdefXYZ',
    '0f3a9c4e2b7d1a6f8e5c3b9a7d2e4f6a8c1b3d5e',
    'glpat-PLACEHOLDER12345abcde',
  ];
  for (const token of tokens) {
    test(`reports ${token.slice(0, 12)}...@`, () => {
      const [found] = urlDetections(`https://${token}@git.example.invalid/team/repo.git`, '$');
      assert.equal(found?.kind, 'url-credentials');
      assert.match(found?.message ?? '', /a token as its user name; store the token/);
      assert.equal(found?.redacted, 'https://***@git.example.invalid…');
    });
  }

  const users = [
    'git',
    'admin',
    'deploy',
    'x-access-token',
    'gitlab-ci-token',
    'build-agent-number-12345',
    'firstname.lastname2024',
    'svc_marathon_prod_01',
    'averyveryverylongusername',
    'aaaaaaaaaaaaaaaaaaaaaaaaaaaa1',
    'john.doe%40example.invalid',
  ];
  for (const user of users) {
    test(`leaves ${user}@ alone`, () => {
      assert.deepEqual(urlDetections(`https://${user}@git.example.invalid/r.git`, '$'), []);
    });
  }
});

describe('values recognised by their form', () => {
  const tessera = `tsr_${'CANARY-f1_'.padEnd(43, 'x')}`;
  const github = `ghp_${'CANARYf2'.padEnd(36, 'y')}`;
  const keys = ['RSA ', 'EC ', 'DSA ', 'OPENSSH ', 'ENCRYPTED ', ''];
  const armor = (label: string) => `-----BEGIN ${label}-----\nQ0FOQVJZ\n-----END ${label}-----\n`;

  for (const key of keys) {
    test(`a ${key}PRIVATE KEY under TLS_KEY`, () => {
      const findings = scanDocument({ env: { TLS_KEY: armor(`${key}PRIVATE KEY`) } }, 'pem');
      assert.deepEqual(
        findings.map((f) => `${f.location} ${f.kind} ${f.severity}`),
        ['$.env.TLS_KEY private-key high'],
      );
      assert.match(findings[0]?.message ?? '', new RegExp(`\\(${key}PRIVATE KEY, \\*{4}\\)`));
    });
  }

  test('a PGP PRIVATE KEY BLOCK on a command line', () => {
    const line = `gpg --import '${armor('PGP PRIVATE KEY BLOCK').replaceAll('\n', ' ')}'\n`;
    assert.deepEqual(triples(scanText(line, 'ps')), ['line 1 private-key high']);
  });

  test('public keys and certificates are not reported', () => {
    const document = { env: { TLS_CERT: armor('CERTIFICATE'), SSH_KEY: armor('PUBLIC KEY') } };
    assert.deepEqual(kinds(document), []);
  });

  test('a Tessera token in any string', () => {
    assert.deepEqual(kinds({ labels: { owner: `set by ${tessera}` } }), [
      '$.labels.owner token high',
    ]);
  });

  test('a Tessera token advises revoking it', () => {
    const [found] = scanDocument({ env: { CONFIG: tessera } }, 'app');
    assert.match(found?.message ?? '', /tessera token revoke/);
    assert.match(found?.message ?? '', /keep tokens out of definitions/);
  });

  test('a Tessera token of another length is not one', () => {
    const short = tessera.slice(0, -1);
    const long = `${tessera}z`;
    assert.deepEqual(kinds({ labels: { a: short, b: long } }), []);
  });

  const prefixes = ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'];
  for (const prefix of prefixes) {
    test(`a GitHub ${prefix} token in an argument`, () => {
      const token = `${prefix}${'CANARYf3'.padEnd(36, 'z')}`;
      assert.deepEqual(kinds({ args: ['./sync', token] }), ['$.args[1] token high']);
    });
  }

  test('a GitHub prefix with 35 characters is not a token', () => {
    assert.deepEqual(kinds({ labels: { a: `ghp_${'a1'.padEnd(35, 'b')}` } }), []);
  });

  test('a token on a command line', () => {
    const line = `curl -H 'Authorization: Bearer ${github}' https://api.example.invalid/\n`;
    assert.deepEqual(triples(scanText(line, 'ps')), ['line 1 token high']);
  });

  const once: [string, unknown, string[]][] = [
    ['under a secret name', { env: { GITHUB_TOKEN: github } }, ['$.env.GITHUB_TOKEN token high']],
    [
      'a key under a secret name',
      { env: { TLS_PRIVATE_KEY: armor('RSA PRIVATE KEY') } },
      ['$.env.TLS_PRIVATE_KEY private-key high'],
    ],
    ['after --token', { cmd: `./run --token ${github}` }, ['$.cmd token high']],
    ['after --token in args', { args: ['./run', '--token', github] }, ['$.args[2] token high']],
    [
      'as a URL user name',
      { env: { REPO: `https://${github}@git.example.invalid/r.git` } },
      ['$.env.REPO url-credentials high'],
    ],
    [
      'in a Docker env parameter',
      { parameters: [{ key: 'env', value: `GITHUB_TOKEN=${github}` }] },
      ['$.parameters[0].value token high'],
    ],
    [
      'in a Mesos variable',
      { variables: [{ name: 'TESSERA_TOKEN', value: tessera }] },
      ['$.variables[0].value token high'],
    ],
  ];
  for (const [name, document, expected] of once) {
    test(`a token ${name} is reported once`, () => {
      assert.deepEqual(kinds(document), expected);
    });
  }

  test('the name rule message keeps the name', () => {
    const [found] = scanDocument({ env: { GITHUB_TOKEN: github } }, 'app');
    assert.match(
      found?.message ?? '',
      /^environment variable GITHUB_TOKEN contains a GitHub token/,
    );
  });

  test('a second value on the same line is still reported', () => {
    const line = `./run --password PLACEHOLDER-f4 ${github}\n`;
    assert.deepEqual(triples(scanText(line, 'ps')), [
      'line 1 secret-value high',
      'line 1 token high',
    ]);
  });
});
