// Label and field selectors as the API server parses them from ?labelSelector= and ?fieldSelector=.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/errors';
import { labelSelectorFromObject, parseFieldSelector, parseLabelSelector } from '../src/selectors';

const pods: { name: string; labels: Record<string, string> }[] = [
  { name: 'a', labels: { app: 'web', track: 'stable' } },
  { name: 'b', labels: { app: 'web', track: 'canary' } },
  { name: 'c', labels: { app: 'db' } },
  { name: 'd', labels: {} },
];

function select(selector: string): string[] {
  const match = parseLabelSelector(selector);
  return pods.filter((p) => match(p.labels)).map((p) => p.name);
}

describe('label selectors', () => {
  it('supports =, ==, !=, in, notin, exists and !key', () => {
    expect(select('app=web')).toEqual(['a', 'b']);
    expect(select('app==web,track!=canary')).toEqual(['a']);
    expect(select('track in (canary, stable)')).toEqual(['a', 'b']);
    expect(select('app notin (web)')).toEqual(['c', 'd']);
    expect(select('track')).toEqual(['a', 'b']);
    expect(select('!track')).toEqual(['c', 'd']);
    expect(select('')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('rejects malformed selectors with 400 BadRequest', () => {
    for (const bad of ['app=(web', 'app in web', '=web', 'app=we b']) {
      const err = (() => {
        try {
          parseLabelSelector(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(err, bad).toBeInstanceOf(ApiError);
      expect((err as ApiError).code).toBe(400);
    }
  });

  it('turns a structured selector (matchLabels, matchExpressions) into the same matcher', () => {
    const match = labelSelectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'track', operator: 'NotIn', values: ['canary'] }],
    });
    expect(pods.filter((p) => match(p.labels)).map((p) => p.name)).toEqual(['a']);
  });
});

describe('field selectors', () => {
  const pod = (name: string, phase: string, node: string) => ({
    metadata: { name, namespace: 'default' },
    spec: { nodeName: node },
    status: { phase },
  });
  const all = [pod('p1', 'Running', 'n1'), pod('p2', 'Pending', ''), pod('p3', 'Running', 'n2')];

  it('matches metadata.name, status.phase and spec.nodeName, with = and !=', () => {
    const pick = (s: string) => all.filter(parseFieldSelector(s, 'Pod')).map((p) => p.metadata.name);
    expect(pick('status.phase=Running')).toEqual(['p1', 'p3']);
    expect(pick('status.phase=Running,spec.nodeName!=n1')).toEqual(['p3']);
    expect(pick('spec.nodeName=')).toEqual(['p2']);
    expect(pick('metadata.name==p2')).toEqual(['p2']);
  });

  it('rejects fields the kind does not index', () => {
    expect(() => parseFieldSelector('spec.replicas=3', 'Deployment')).toThrow(
      /field label not supported: spec.replicas/,
    );
  });
});
