/**
 * Fault injection for REST requests (in-process store calls are never faulted): latency, 5xx, 429 with
 * Retry-After, forced conflicts, and watches that the server drops.
 */

export interface FaultRule {
  /** `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`, `proxy`; any when absent. */
  verb?: string;
  /** Plural resource name (`deployments`), optionally `deployments/status`; any when absent. */
  resource?: string;
  namespace?: string;
  name?: string;
  /** Delay before answering, on the simulation clock. */
  latencyMs?: number;
  /** Answer with this error instead: 500, 503, 429 (with Retry-After) or 409 (a forced Conflict). */
  status?: 500 | 503 | 429 | 409;
  retryAfterSeconds?: number;
  /** For watches: close the stream after this many events (0: right after it opens). */
  dropWatchAfterEvents?: number;
  /** Apply to this many matching requests, then retire (default: every matching request). */
  times?: number;
}

export interface RequestInfo {
  verb: string;
  resource: string;
  subresource?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
}

interface ActiveRule extends FaultRule {
  remaining: number;
}

export class FaultInjector {
  private rules: ActiveRule[] = [];
  /** Closes all open HTTP watches (of a resource, or all); set by the server. */
  dropWatchesHook?: (resource?: string) => void;

  /** Add a rule; returns a function that removes it. */
  add(rule: FaultRule): () => void {
    const active: ActiveRule = { ...rule, remaining: rule.times ?? Number.POSITIVE_INFINITY };
    this.rules.push(active);
    return () => {
      this.rules = this.rules.filter((r) => r !== active);
    };
  }

  clear(): void {
    this.rules = [];
  }

  /** Close the open watch streams now (clients see the connection end and must resume). */
  dropWatches(resource?: string): void {
    this.dropWatchesHook?.(resource);
  }

  /** The rules that apply to a request (each consumes one of its `times`). */
  match(req: RequestInfo): FaultRule[] {
    const out: FaultRule[] = [];
    for (const r of this.rules) {
      if (r.remaining <= 0) continue;
      if (r.verb && r.verb !== req.verb) continue;
      if (r.resource) {
        const [res, sub] = r.resource.split('/');
        if (res !== req.resource || (sub ?? undefined) !== (req.subresource ?? undefined)) continue;
      }
      if (r.namespace && r.namespace !== req.namespace) continue;
      if (r.name && r.name !== req.name) continue;
      r.remaining--;
      out.push(r);
    }
    this.rules = this.rules.filter((r) => r.remaining > 0);
    return out;
  }
}
