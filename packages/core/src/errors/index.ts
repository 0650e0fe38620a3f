/**
 * UserError: something the user can fix (bad input, missing object, failed check).
 * Printed as one `::error::` line without a stack. Anything else is unexpected and
 * gets its stack logged at debug level.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  /** Optional hint shown after the message, e.g. an example of a right value. */
  readonly hint: string | undefined;
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(shortenRuns(message), options?.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options?.hint === undefined ? undefined : shortenRuns(options.hint);
  }
}

/** An unbroken run this long is an echoed value (a 100 KB tag), not prose: shown cut, with its length. */
const LONG_RUN = /\S{300,}/g;

/** The error stays one readable line whatever was given. */
function shortenRuns(text: string): string {
  return text.replace(LONG_RUN, (run) => `${run.slice(0, 120)}…(${run.length} characters)`);
}

/** An input that failed validation: names the input, what was given and an example of a right value. */
export class InputError extends UserError {
  readonly input: string;
  constructor(input: string, problem: string, given: string | undefined, example: string) {
    const shown =
      given === undefined ? 'nothing' : JSON.stringify(given.length > 120 ? `${given.slice(0, 117)}...` : given);
    super(`Input '${input}': ${problem} (got ${shown}). Example: ${input}: ${example}`);
    this.input = input;
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}
