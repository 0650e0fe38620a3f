/**
 * A real throwaway PostgreSQL server (Debian's `postgresql` binaries) for tests: initdb into a temporary
 * directory, start on a free loopback port with its socket in that directory, `stop` removes everything.
 * As root (CI), initdb refuses to run, so the cluster belongs to the `postgres` user via runuser.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net';

export interface RunningPostgres {
  port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication on loopback). */
  superuserUrl: string;
  /** Run SQL as the superuser (or against `url`); returns unaligned, tuples-only output. */
  psql(sql: string, url?: string): string;
  stop(): void;
}

/** The newest installed PostgreSQL server binaries, e.g. /usr/lib/postgresql/15/bin. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/** Why PostgreSQL tests must be skipped here, or undefined when the server binaries and client tools exist. */
export function postgresMissing(): string | undefined {
  return postgresBinDir() === undefined || !existsSync('/usr/bin/pg_restore')
    ? 'PostgreSQL server binaries not installed (apt-get install postgresql; CI installs it)'
    : undefined;
}

export async function startPostgres(): Promise<RunningPostgres> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error(postgresMissing());
  const dir = mkdtempSync(join(tmpdir(), 'postgres-test-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const asOwner = (program: string, args: string[]) =>
    process.getuid?.() === 0
      ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, program), ...args], { stdio: 'pipe' })
      : execFileSync(join(bin, program), args, { stdio: 'pipe' });
  asOwner('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const stop = () => {
    try {
      asOwner('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // The port is free when chosen but another process may take it before the server binds: try a few.
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      asOwner('pg_ctl', [
        '-D',
        data,
        '-l',
        join(dir, 'log'),
        '-w',
        'start',
        '-o',
        `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off`,
      ]);
      break;
    } catch (error) {
      if (attempt < 3) continue;
      const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').slice(-2000) : '';
      stop();
      throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${log}`);
    }
  }
  const superuserUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const psql = (sql: string, url = superuserUrl) =>
    execFileSync('psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], {
      encoding: 'utf8',
    }).trim();
  return { port, superuserUrl, psql, stop };
}
