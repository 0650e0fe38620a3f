/**
 * A scenario: what a kube-sim starts with. `objects` are created (in order) at start; every other key
 * is kept as given for the controllers to read (`sim.scenario`), e.g. a pod behaviour table.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from './store';

export interface Scenario {
  /** Namespaces to create besides default, kube-system, kube-public and kube-node-lease. */
  namespaces?: string[];
  /** Manifests to create at start (any kind the server knows, CRDs first if you need custom kinds). */
  objects?: KubeObject[];
  [key: string]: unknown;
}

/** Read a scenario file: one YAML document with `namespaces` / `objects` / ..., or a stream of manifests. */
export function loadScenario(path: string): Scenario {
  const docs = parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as unknown);
  const first = docs[0];
  if (docs.length === 1 && first && typeof first === 'object' && !('kind' in first)) return first as Scenario;
  return { objects: docs.filter((d): d is KubeObject => !!d && typeof d === 'object') };
}
