import { describe, expect, it } from 'vitest';
import { UserError } from '../src/errors';
import { planUndo, revisionHistory } from '../src/kube/history';
import type { Deployment, ReplicaSet } from '../src/kube/types';

const UID = 'uid-web';

function template(image: string, hash: string) {
  return {
    metadata: { labels: { app: 'web', 'pod-template-hash': hash } },
    spec: {
      containers: [
        { name: 'web', image },
        { name: 'sidecar', image: 'envoy:1.30' },
      ],
    },
  };
}

function replicaSet(
  revision: number,
  image: string,
  extra: { cause?: string; owner?: string; replicas?: number } = {},
) {
  const hash = `h${revision}`;
  return {
    metadata: {
      name: `web-${hash}`,
      annotations: {
        'deployment.kubernetes.io/revision': String(revision),
        ...(extra.cause === undefined ? {} : { 'kubernetes.io/change-cause': extra.cause }),
      },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: extra.owner ?? UID, controller: true },
      ],
    },
    spec: { replicas: extra.replicas ?? 0, template: template(image, hash) },
    status: { replicas: extra.replicas ?? 0 },
  } satisfies ReplicaSet;
}

function deploymentAt(revision: number, image: string, paused = false): Deployment {
  const { metadata, spec } = template(image, 'ignored');
  return {
    metadata: {
      name: 'web',
      uid: UID,
      annotations: {
        'deployment.kubernetes.io/revision': String(revision),
        'kubectl.kubernetes.io/last-applied-configuration': '{"kept":true}',
        team: 'payments',
      },
    },
    spec: { replicas: 3, paused, template: { metadata: { labels: { app: metadata.labels.app } }, spec } },
  };
}

const replicaSets = [
  replicaSet(1, 'web:1.0', { cause: 'first release' }),
  replicaSet(3, 'web:1.2', { replicas: 3 }),
  replicaSet(2, 'web:1.1'),
  // Another Deployment's ReplicaSet with the same labels must be ignored.
  replicaSet(9, 'web:evil', { owner: 'uid-other' }),
];

describe('revisionHistory', () => {
  it('lists the owned revisions oldest first with their images', () => {
    const history = revisionHistory(deploymentAt(3, 'web:1.2'), replicaSets);
    expect(history.map((entry) => [entry.revision, entry.images.web, entry.replicas])).toEqual([
      [1, 'web:1.0', 0],
      [2, 'web:1.1', 0],
      [3, 'web:1.2', 3],
    ]);
    expect(history[0]?.changeCause).toBe('first release');
  });
});

describe('planUndo (kubectl rollout undo)', () => {
  it('restores the previous revision: its template without the hash label, and keeps the deployment-own annotations', () => {
    const plan = planUndo(deploymentAt(3, 'web:1.2'), replicaSets);
    expect(plan.kind).toBe('patch');
    if (plan.kind !== 'patch') return;
    expect(plan.from?.revision).toBe(3);
    expect(plan.to.revision).toBe(2);
    expect(plan.patch[0]).toEqual({
      op: 'replace',
      path: '/spec/template',
      value: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            { name: 'web', image: 'web:1.1' },
            { name: 'sidecar', image: 'envoy:1.30' },
          ],
        },
      },
    });
    // The revision and last-applied annotations stay the Deployment's own; "team" is not on revision 2's ReplicaSet.
    expect(plan.patch[1]).toEqual({
      op: 'replace',
      path: '/metadata/annotations',
      value: {
        'deployment.kubernetes.io/revision': '3',
        'kubectl.kubernetes.io/last-applied-configuration': '{"kept":true}',
        // The version replaced, so a second undo skips it (issue #17 item 8).
        'deploy-actions.dev/rolled-back-from': '["sidecar=envoy:1.30,web=web:1.2"]',
      },
    });
  });

  it('restores a named revision and carries its change-cause back', () => {
    const plan = planUndo(deploymentAt(3, 'web:1.2'), replicaSets, 1);
    if (plan.kind !== 'patch') throw new Error('expected a patch');
    expect(plan.to.images.web).toBe('web:1.0');
    const annotations = plan.patch[1]?.value as Record<string, string>;
    expect(annotations['kubernetes.io/change-cause']).toBe('first release');
  });

  it('skips when the target template is what already runs', () => {
    const plan = planUndo(deploymentAt(3, 'web:1.2'), replicaSets, 3);
    expect(plan).toMatchObject({ kind: 'skip', reason: 'current template already matches revision 3' });
  });

  it('names the revisions that exist when asked for one that does not', () => {
    expect(() => planUndo(deploymentAt(3, 'web:1.2'), replicaSets, 7)).toThrow(
      new UserError('Revision 7 of deployment "web" does not exist; revisions: 1, 2, 3'),
    );
  });

  it('refuses when there is no previous revision', () => {
    expect(() => planUndo(deploymentAt(1, 'web:1.0'), [replicaSet(1, 'web:1.0', { replicas: 3 })])).toThrow(
      /has no previous revision to roll back to \(revisions: 1\)/,
    );
  });

  it('refuses a paused Deployment, as kubectl does', () => {
    expect(() => planUndo(deploymentAt(3, 'web:1.2', true), replicaSets)).toThrow(/is paused/);
  });
});
