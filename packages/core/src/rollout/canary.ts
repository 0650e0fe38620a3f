/**
 * The canary / blue-green state machine, driven from workflow steps. Every
 * transition is saved in the record before the next one starts, so a later
 * run (continue, promote, abort, finalize, the post step, rollback) knows
 * exactly where traffic and pods are. The stable Deployment is only written
 * at promotion (and by a post-promotion rollback); an abort leaves it alone,
 * except during the promotion (phase promoting), when it goes back to the
 * revision it ran before.
 *
 * `Rollout` is the facade; each concern lives in its own file around one
 * RolloutContext (context.ts): prepare.ts, start.ts, steps.ts, weights.ts,
 * analysis.ts, blue-green.ts, promote.ts, abort.ts, restore.ts, finalize.ts,
 * plan-preview.ts (README.md maps them).
 */

import type { KubeClient } from '../kube/client';
import type { Deployment } from '../kube/types';
import type { Runtime } from '../runtime/port';
import type { RecordStore, RolloutPhase, RolloutRecord } from '../state/record';
import { abort, finishAbort } from './abort';
import { RolloutContext } from './context';
import { finalize } from './finalize';
import { planPreview } from './plan-preview';
import { type GivenTemplate, prepare, prepareTemplates, resume } from './prepare';
import { promote } from './promote';
import { continueSteps, start } from './start';
import type { RolloutOutcome, RolloutResult, RolloutSettings, WeightPoint } from './types';

export class Rollout {
  private readonly ctx: RolloutContext;

  constructor(rt: Runtime, client: KubeClient, store: RecordStore, settings: RolloutSettings) {
    this.ctx = new RolloutContext(rt, client, store, settings);
  }

  /** Everything `start` needs, checked before any write: images, config, routers, analysis queries. */
  prepare(stables: Deployment[], images: Record<string, string>): Promise<void> {
    return prepare(this.ctx, stables, images);
  }

  /** As prepare, for templates given whole (staged rollback: the previous revisions'); `record` adds to the record. */
  prepareTemplates(given: GivenTemplate[], record: Partial<RolloutRecord> = {}): Promise<void> {
    return prepareTemplates(this.ctx, given, record);
  }

  /** Rebuild the units from a saved record (continue, promote, abort, finalize). */
  resume(record: RolloutRecord): Promise<void> {
    return resume(this.ctx, record);
  }

  /** Dry run: every object and patch, each sent with dryRun=All so the API server validates it. */
  plan(): Promise<RolloutOutcome> {
    return planPreview(this.ctx);
  }

  start(): Promise<RolloutOutcome> {
    return start(this.ctx);
  }

  continue(): Promise<RolloutOutcome> {
    return continueSteps(this.ctx);
  }

  abort(reason: string): Promise<RolloutOutcome> {
    return abort(this.ctx, reason);
  }

  /** A record left in phase aborting (its run died during the abort): whatever is asked, the abort is finished. */
  finishAbort(): Promise<RolloutOutcome> {
    return finishAbort(this.ctx);
  }

  promote(): Promise<RolloutOutcome> {
    return promote(this.ctx);
  }

  /**
   * Blue-green switched: blue takes the new version (promote), green goes. After promotion, abort or
   * rollback: remove what is left (Deployments, config copies of an aborted version).
   */
  finalize(): Promise<RolloutOutcome> {
    return finalize(this.ctx);
  }

  /** The record's phase and reason set by a client once the engine is done (staged rollback: rolled-back). */
  async settle(phase: RolloutPhase, reason: string): Promise<void> {
    await this.ctx.save({ phase, reason });
  }

  outcome(result: RolloutResult, reason: string, plan?: string[]): RolloutOutcome {
    return this.ctx.outcome(result, reason, plan ? { plan } : {});
  }

  get timeline(): WeightPoint[] {
    return this.ctx.timeline;
  }
  get analyses(): RolloutOutcome['analyses'] {
    return this.ctx.analyses;
  }
  get current(): RolloutRecord {
    return this.ctx.record;
  }
  get phase(): RolloutPhase {
    return this.ctx.record.phase;
  }
}
