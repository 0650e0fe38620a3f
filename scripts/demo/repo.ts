/**
 * The market app's repository for the demo: a real git repository in a temp dir with a bare `origin` (where
 * build-tag pushes the release tag), conventional commits, and the SQL migrations migrate applies.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const IDENTITY = {
  GIT_AUTHOR_NAME: 'Ann Lee',
  GIT_AUTHOR_EMAIL: 'ann@example.com',
  GIT_COMMITTER_NAME: 'CI',
  GIT_COMMITTER_EMAIL: 'ci@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
};

export class DemoRepo {
  readonly dir: string;
  readonly origin: string;
  private readonly home: string;

  constructor() {
    this.home = mkdtempSync(join(tmpdir(), 'demo-market-'));
    this.dir = join(this.home, 'market');
    this.origin = join(this.home, 'origin.git');
    mkdirSync(this.dir);
    execFileSync('git', ['init', '--quiet', '--bare', this.origin], { env: this.env() });
    this.git('init', '--quiet', '--initial-branch=main');
    this.git('remote', 'add', 'origin', this.origin);
  }

  /** What git and the actions running in the repository need: an identity, no user or system config. */
  env(): Record<string, string> {
    return { ...(process.env as Record<string, string>), ...IDENTITY, HOME: this.home };
  }

  git(...args: string[]): string {
    return execFileSync('git', args, { cwd: this.dir, encoding: 'utf8', env: this.env() }).trim();
  }

  /** A commit writing `files` (path → content); returns its hash. */
  commit(message: string, files: Record<string, string>): string {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(this.dir, path)), { recursive: true });
      writeFileSync(join(this.dir, path), content);
    }
    this.git('add', '--', ...Object.keys(files));
    this.git('commit', '--quiet', '--no-verify', '-m', message);
    this.git('push', '--quiet', 'origin', 'main');
    return this.git('rev-parse', 'HEAD');
  }

  remove(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** The history up to the released v1.0.0 (tagged), as the demo starts from it. */
export function seedHistory(repo: DemoRepo): void {
  repo.commit('feat: market listings', {
    'src/listings.ts': 'export const listings = [];\n',
    'db/migrations/V1__create_listings.sql':
      'CREATE TABLE listings (id bigserial PRIMARY KEY, title text NOT NULL, price_cents integer NOT NULL);\n',
  });
  repo.git('tag', '-a', 'v1.0.0', '-m', 'Release 1.0.0');
  repo.git('push', '--quiet', 'origin', 'v1.0.0');
}

/** The good release's changes: a feature with an additive migration and a fix (→ 1.1.0). */
export function goodChanges(repo: DemoRepo): void {
  repo.commit('feat(orders): buyers can place orders', {
    'src/orders.ts': 'export const orders = [];\n',
    'db/migrations/V2__create_orders.sql':
      'CREATE TABLE orders (id bigserial PRIMARY KEY, listing_id bigint NOT NULL REFERENCES listings (id), placed_at timestamptz NOT NULL DEFAULT now());\n',
  });
  repo.commit('fix(listings): prices round half up', { 'src/price.ts': 'export const round = Math.round;\n' });
}

/** The bad release's changes: a feature whose code fails under load (→ 1.2.0), with its migration. */
export function badChanges(repo: DemoRepo): void {
  repo.commit('feat(search): search listings by seller', {
    'src/search.ts': 'export const search = () => [];\n',
    'db/migrations/V3__listings_seller.sql': 'ALTER TABLE listings ADD COLUMN seller text;\n',
  });
}
