import { describe, expect, it } from 'vitest';

describe('test runtime', () => {
  it('tests run on Node 24, the runtime GitHub uses for node24 actions', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });
});
