import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PG_ROOT = '/usr/lib/postgresql';

/** A throw-away PostgreSQL cluster on 127.0.0.1, with its socket in its own directory. */
export interface PostgresCluster {
  port: number;
  /** The directory of the Unix socket, where the superuser `postgres` logs in without a password. */
  socketDir: string;
  /** The newest server's bin directory, which also contains psql. */
  binDir: string;
  stop(): Promise<void>;
}

/** Finds the newest Debian PostgreSQL bin directory; throws, naming the package, when none is there. */
export function findPostgresBin(): string {
  const versions = existsSync(PG_ROOT)
    ? readdirSync(PG_ROOT)
        .filter((name) => existsSync(join(PG_ROOT, name, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      `no PostgreSQL server under ${PG_ROOT}/*/bin; install the Debian package postgresql ` +
        '(apt-get install postgresql) to run this test',
    );
  }
  return join(PG_ROOT, versions[0] as string, 'bin');
}

/**
 * Creates a cluster in a temporary directory owned by the user `postgres`, starts it on a
 * free loopback port (password logins over TCP, trust on the socket), and waits at most
 * 20 s until it accepts connections. Call `stop` in after().
 */
export async function startPostgres(): Promise<PostgresCluster> {
  const binDir = findPostgresBin();
  const dir = await mkdtemp(join(tmpdir(), 'tessera-pg-'));
  await chmod(dir, 0o700);
  const { uid, gid } = await postgresIds();
  await chown(dir, uid, gid);
  const dataDir = join(dir, 'data');
  const port = await freePort();

  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const ended = new Promise((resolve) => child?.once('exit', resolve));
      // runuser does not pass signals on to PostgreSQL, so pg_ctl requests a fast
      // shutdown from it directly. SIGKILL of runuser follows only if that hangs.
      await asPostgres(binDir, 'pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w']).catch(
        () => undefined,
      );
      const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
      await ended;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await asPostgres(binDir, 'initdb', [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '--no-sync',
    ]);
    child = spawn(
      'runuser',
      [
        '-u',
        'postgres',
        '--',
        join(binDir, 'postgres'),
        '-D',
        dataDir,
        '-p',
        String(port),
        '-h',
        '127.0.0.1',
        '-k',
        dir,
        '-c',
        'fsync=off',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.resume();
    await waitReady(binDir, dir, port);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, socketDir: dir, binDir, stop };
}

/** Runs SQL as the superuser over the socket. */
export async function psqlAdmin(cluster: PostgresCluster, sql: string): Promise<string> {
  const { stdout } = await run(
    join(cluster.binDir, 'psql'),
    [
      '-X',
      '-q',
      '-t',
      '-A',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      cluster.socketDir,
      '-p',
      String(cluster.port),
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-c',
      sql,
    ],
    { timeout: 10_000 },
  );
  return stdout.trim();
}

/** Tries a password login over TCP; true when `SELECT 1` succeeds. */
export async function canLogin(
  cluster: PostgresCluster,
  role: string,
  password: string,
): Promise<boolean> {
  try {
    await run(
      join(cluster.binDir, 'psql'),
      [
        '-X',
        '-q',
        '-t',
        '-A',
        '-h',
        '127.0.0.1',
        '-p',
        String(cluster.port),
        '-U',
        role,
        '-d',
        'postgres',
        '-c',
        'SELECT 1',
      ],
      // The password goes in the environment, never on psql's command line.
      {
        timeout: 10_000,
        env: { PATH: process.env.PATH, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
      },
    );
    return true;
  } catch {
    return false;
  }
}

async function asPostgres(binDir: string, program: string, args: string[]): Promise<void> {
  await run('runuser', ['-u', 'postgres', '--', join(binDir, program), ...args], {
    timeout: 60_000,
  });
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}

async function waitReady(binDir: string, socketDir: string, port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      await run(join(binDir, 'pg_isready'), ['-q', '-h', socketDir, '-p', String(port)]);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`PostgreSQL did not accept connections on port ${port} within 20 s`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
