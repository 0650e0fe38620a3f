/**
 * Connections to PostgreSQL on `pg`, with the errors a user can act on (refused, wrong password, no such
 * database) said in one line that never carries the password.
 */
import pg from 'pg';
import { UserError } from '../errors';

export type Database = pg.Client;

/** Where a URL points, without its password: `app@db.example.com:5432/shop`. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username ? `${decodeURIComponent(parsed.username)}@` : '';
    return `${user}${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname || '/'}`;
  } catch {
    return '(an unparsable URL)';
  }
}

/** The password of a postgres:// URL, raw and decoded, to mask before anything is logged. */
export function urlPassword(url: string): string | undefined {
  try {
    const password = new URL(url).password;
    return password === '' ? undefined : decodeURIComponent(password);
  } catch {
    return undefined;
  }
}

export async function connect(url: string, options: { applicationName?: string } = {}): Promise<Database> {
  const client = new pg.Client({
    connectionString: url,
    application_name: options.applicationName ?? 'deploy-actions migrate',
    connectionTimeoutMillis: 15_000,
  });
  // An idle client's socket error (server restarted) must not crash the process: the next query fails.
  client.on('error', () => {});
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    throw connectionError(error, url);
  }
}

function connectionError(error: unknown, url: string): UserError {
  const where = describeUrl(url);
  const { code, message } = error as { code?: string; message?: string };
  const password = urlPassword(url);
  const said = password ? (message ?? '').split(password).join('***') : (message ?? String(error));
  const why: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is the server running and the port right?)',
    ENOTFOUND: 'host not found',
    ETIMEDOUT: 'connection timed out',
    '28P01': 'password authentication failed (check the password in database-url)',
    '28000': 'the server refused this user or host (pg_hba.conf)',
    '3D000': 'the database does not exist',
  };
  return new UserError(`Could not connect to the database ${where}: ${why[code ?? ''] ?? said}`, { cause: error });
}
