/** Any JSON-over-HTTP endpoint: GET the URL, read the number at `json-path`. */
import { type PathStep, parseJsonPath, readJsonPath } from './jsonpath';
import {
  type MetricProvider,
  ProviderUnavailable,
  type QueryOptions,
  rejected,
  requestJson,
  toNumber,
} from './provider';

export class WebProvider implements MetricProvider {
  private readonly path: PathStep[];

  constructor(
    private readonly jsonPath: string,
    private readonly headers: Record<string, string> = {},
  ) {
    this.path = parseJsonPath(jsonPath);
  }

  async validate(url: string, options: QueryOptions): Promise<void> {
    await this.query(url, options);
  }

  /** `url` is the metric's URL with placeholders already substituted (and URL-encoded). */
  async query(url: string, options: QueryOptions): Promise<number | undefined> {
    const answer = await requestJson('web metric', url, { headers: this.headers, signal: options.signal });
    if (answer.status >= 500 || answer.status === 429)
      throw new ProviderUnavailable(`${url} answered HTTP ${answer.status}`);
    if (answer.status < 200 || answer.status > 299)
      throw rejected('The web metric endpoint', url, `HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
    if (answer.body === undefined)
      throw rejected('The web metric endpoint', url, `the answer is not JSON: ${answer.text.slice(0, 100)}`);
    const value = readJsonPath(answer.body, this.path);
    if (value === undefined || value === null) return undefined;
    const number = toNumber(value);
    if (number === undefined)
      throw rejected(
        'The web metric endpoint',
        url,
        `${this.jsonPath} holds ${JSON.stringify(value).slice(0, 80)}, not a number`,
      );
    return number;
  }
}
