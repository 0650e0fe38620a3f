/**
 * Slack-compatible incoming-webhook messages (Slack, Mattermost, Rocket.Chat and
 * Teams' Slack-compatible endpoints all take `text` + `attachments[].fields`).
 * The URL is a secret: errors name the host at most, never the path or query.
 */
import { UserError } from '../errors';
import { type RetryOptions, retry } from '../retry';

export interface WebhookField {
  title: string;
  value: string;
  /** Narrow enough to sit beside another field. */
  short?: boolean;
}

export interface WebhookMessage {
  text: string;
  fields?: WebhookField[];
  /** Attachment bar colour: `good`, `warning`, `danger` or `#rrggbb`. */
  color?: string;
}

export interface WebhookOptions {
  fetch?: typeof fetch;
  retry?: RetryOptions;
  /** Per-attempt time limit in ms (default 10 s). */
  timeoutMs?: number;
}

/** A non-2xx answer; carries Retry-After so `retry` honours it. */
export class WebhookError extends UserError {
  constructor(
    readonly status: number,
    readonly retryAfter: string | undefined,
    host: string,
  ) {
    super(`The notify webhook at ${host} answered HTTP ${status}`);
  }
}

/** The JSON body a Slack incoming webhook expects. */
export function webhookPayload(message: WebhookMessage) {
  const fields = (message.fields ?? []).map((field) => ({
    title: field.title,
    value: field.value,
    short: field.short ?? field.value.length <= 40,
  }));
  const attachment = { fallback: message.text, color: message.color, fields };
  return {
    text: message.text,
    attachments: fields.length > 0 || message.color ? [attachment] : [],
  };
}

/** Post a message; retries 5xx, 429 and network errors, never 4xx (a wrong URL stays wrong). */
export async function sendWebhook(url: string, message: WebhookMessage, options: WebhookOptions = {}): Promise<void> {
  const doFetch = options.fetch ?? fetch;
  let host = 'the given URL';
  try {
    host = new URL(url).host;
  } catch {
    throw new UserError('The notify webhook URL is not a valid URL', {
      hint: 'Example: https://hooks.slack.com/services/T000/B000/XXXX',
    });
  }
  const body = JSON.stringify(webhookPayload(message));
  await retry(
    async () => {
      const signals = [AbortSignal.timeout(options.timeoutMs ?? 10_000)];
      if (options.retry?.signal) signals.push(options.retry.signal);
      let response: Response;
      try {
        response = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any(signals),
        });
      } catch (error) {
        // fetch errors can quote the URL; keep only the host and the cause's code.
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
        throw new UserError(`The notify webhook at ${host} could not be reached (${cause})`);
      }
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new WebhookError(response.status, response.headers.get('retry-after') ?? undefined, host);
    },
    {
      attempts: 3,
      baseMs: 1_000,
      ...options.retry,
      isRetryable: (error) => !(error instanceof WebhookError) || error.status === 429 || error.status >= 500,
    },
  );
}
