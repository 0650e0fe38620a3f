/**
 * The manifests gate's schemas load formats that `require('punycode')`, Node's deprecated built-in: in the
 * bundled action (where that require is outside node_modules) Node printed a DEP0040 DeprecationWarning into
 * every step log that ran the gate.
 */
import { expect, it } from 'vitest';
import { validatorFor } from '../../../packages/core/src/preflight/manifest-schemas';

it("loading a schema silences Node's punycode deprecation (DEP0040) and no other warning", async () => {
  const seen: string[] = [];
  const listener = (warning: Error & { code?: string }) => seen.push(`${warning.name} ${warning.code}`);
  process.on('warning', listener);
  try {
    const validate = await validatorFor('apps/v1', 'Deployment');
    expect(validate?.({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api' } })).toBe(true);
    // Exactly what node:punycode calls when the bundle requires it (Node 24).
    process.emitWarning(
      'The `punycode` module is deprecated. Please use a userland alternative instead.',
      'DeprecationWarning',
      'DEP0040',
    );
    process.emitWarning('another deprecation still shows', 'DeprecationWarning', 'DEP0005');
    process.emitWarning('a warning of our own still shows', { code: 'DEPLOY_ACTIONS_TEST' });
    // process.emitWarning emits on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  expect(seen).toEqual(['DeprecationWarning DEP0005', 'Warning DEPLOY_ACTIONS_TEST']);
});
