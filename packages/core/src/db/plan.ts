/**
 * What the history says against what the folder holds: each migration's state, what `apply` would run
 * (in order), drift (an applied file that changed), out-of-order files, and what `undo` would run. Pure.
 */
import { UserError } from '../errors';
import { compareVersions, type MigrationFile, type MigrationSet } from './files';
import type { HistoryRow } from './history';

export type MigrationStateName =
  | 'applied'
  | 'pending'
  | 'drift'
  | 'missing'
  | 'baseline'
  | 'below-baseline'
  | 'out-of-order'
  | 'undone'
  | 'outdated';

export interface MigrationState {
  version: string | undefined;
  description: string;
  file: string | undefined;
  state: MigrationStateName;
  applied: HistoryRow | undefined;
}

export interface MigrationPlan {
  states: MigrationState[];
  /** What `apply` runs, in order: versioned ascending (up to the target), then new or changed repeatables. */
  pending: MigrationFile[];
  drift: MigrationState[];
  outOfOrder: MigrationFile[];
  /** Highest applied version (or the baseline), undefined on an empty history. */
  current: string | undefined;
  baseline: string | undefined;
}

export interface PlanOptions {
  target?: string | undefined;
  outOfOrder?: boolean | undefined;
}

/** The latest row of each version (applies, undos and the baseline) and of each repeatable. */
function latestRows(history: readonly HistoryRow[]) {
  const versions = new Map<string, HistoryRow>();
  const repeatables = new Map<string, HistoryRow>();
  let baseline: string | undefined;
  for (const row of history) {
    if (row.type === 'REPEATABLE') repeatables.set(row.description, row);
    else if (row.version !== null) versions.set(row.version, row);
    if (row.type === 'BASELINE') baseline = row.version ?? undefined;
  }
  return { versions, repeatables, baseline };
}

export function planMigrations(
  set: MigrationSet,
  history: readonly HistoryRow[],
  options: PlanOptions = {},
): MigrationPlan {
  const { versions, repeatables, baseline } = latestRows(history);
  const applied = [...versions.values()].filter((row) => row.type === 'SQL' || row.type === 'BASELINE');
  const current = applied
    .map((row) => row.version!)
    .sort(compareVersions)
    .at(-1);
  const states: MigrationState[] = [];
  const pending: MigrationFile[] = [];
  const outOfOrder: MigrationFile[] = [];
  const seen = new Set<string>();

  for (const file of set.versioned) {
    const version = file.version!;
    seen.add(version);
    const row = versions.get(version);
    const state = (name: MigrationStateName): MigrationState => ({
      version,
      description: file.description,
      file: file.file,
      state: name,
      applied: row,
    });
    if (row?.type === 'SQL') {
      states.push(state(row.checksum === file.checksum ? 'applied' : 'drift'));
    } else if (row?.type === 'BASELINE') {
      states.push(state('baseline'));
    } else if (baseline !== undefined && compareVersions(version, baseline) <= 0) {
      states.push(state('below-baseline'));
    } else if (options.target !== undefined && compareVersions(version, options.target) > 0) {
      states.push(state('pending'));
    } else {
      const late = current !== undefined && compareVersions(version, current) < 0;
      if (late) outOfOrder.push(file);
      states.push(
        state(late && !options.outOfOrder ? 'out-of-order' : row?.type === 'UNDO_SQL' ? 'undone' : 'pending'),
      );
      if (!late || options.outOfOrder) pending.push(file);
    }
  }
  for (const row of versions.values()) {
    if (seen.has(row.version!) || row.type !== 'SQL') continue;
    states.push({
      version: row.version!,
      description: row.description,
      file: undefined,
      state: 'missing',
      applied: row,
    });
  }
  for (const file of set.repeatable) {
    const row = repeatables.get(file.description);
    const changed = row === undefined || row.checksum !== file.checksum;
    if (changed) pending.push(file);
    states.push({
      version: undefined,
      description: file.description,
      file: file.file,
      state: row === undefined ? 'pending' : changed ? 'outdated' : 'applied',
      applied: row,
    });
  }
  states.sort((a, b) =>
    a.version === undefined || b.version === undefined
      ? Number(a.version === undefined) - Number(b.version === undefined)
      : compareVersions(a.version, b.version),
  );
  return { states, pending, drift: states.filter((s) => s.state === 'drift'), outOfOrder, current, baseline };
}

/**
 * The undo files to run, newest version first: the last applied version, or every applied version above
 * `target`. Refused as a whole (nothing runs) when one of them has no undo file.
 */
export function planUndo(set: MigrationSet, plan: MigrationPlan, target: string | undefined): MigrationFile[] {
  const applied = plan.states
    .filter((s) => s.state === 'applied' || s.state === 'drift' || s.state === 'missing')
    .map((s) => s.version!)
    .sort(compareVersions)
    .reverse();
  const chosen = target === undefined ? applied.slice(0, 1) : applied.filter((v) => compareVersions(v, target) > 0);
  if (chosen.length === 0) {
    throw new UserError(
      target === undefined
        ? 'Nothing to undo: no versioned migration is applied'
        : `Nothing to undo: no applied version is above target ${target}`,
    );
  }
  const missing = chosen.filter((version) => !set.undo.has(version));
  if (missing.length > 0) {
    throw new UserError(
      `Cannot undo: no undo file for version ${missing.join(', ')} (expected ${missing.map((v) => `U${v.replace(/\./g, '_')}__<name>.sql`).join(', ')}); nothing was undone`,
    );
  }
  return chosen.map((version) => set.undo.get(version)!);
}
