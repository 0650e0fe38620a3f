import { InputError, isUserError } from '@deploy-actions/core/errors';
import { describe, expect, it } from 'vitest';

describe('InputError', () => {
  it('names the input, what was given and an example', () => {
    const error = new InputError('steps', 'weights must increase', '50,25', '5,25,50,100');
    expect(error.message).toBe(`Input 'steps': weights must increase (got "50,25"). Example: steps: 5,25,50,100`);
    expect(isUserError(error)).toBe(true);
  });
});
