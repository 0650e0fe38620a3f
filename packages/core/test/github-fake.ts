/**
 * A loopback HTTP server answering like the GitHub REST API for the four
 * Deployments endpoints the suite uses, with Link pagination, bearer-token
 * checks, a read-only token mode and a queue of injected faults. Every
 * request is recorded with its parsed JSON body so tests assert exact bodies.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  authorization: string | undefined;
  accept: string | undefined;
  apiVersion: string | undefined;
}

export interface FakeStatus {
  id: number;
  state: string;
  description: string | null;
  environment_url: string | null;
  log_url: string | null;
  created_at: string;
}

export interface FakeDeployment {
  id: number;
  sha: string;
  ref: string;
  task: string;
  environment: string;
  description: string | null;
  payload: unknown;
  created_at: string;
  creator: { login: string };
  transient_environment: boolean;
  production_environment: boolean;
  /** Oldest first, as stored; the API answers newest first. */
  statuses: FakeStatus[];
}

export interface Fault {
  method?: string;
  /** Matches when the request path (without query) ends with this. */
  pathEndsWith?: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Answer only after this many real milliseconds (a hung connection). */
  delayMs?: number;
  /** Do the work, then answer with the fault anyway (a 502 from a proxy after GitHub created the deployment). */
  processed?: boolean;
}

export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  readonly deployments = new Map<number, FakeDeployment>();
  readonly faults: Fault[] = [];
  /** Tokens without `deployments: write` get 403 on every POST. */
  readOnly = false;
  /** Largest page the server hands out, whatever per_page asks (GitHub's is 100). */
  maxPage = 100;
  /** Origin written into Link headers (default: this server), to test that other origins get no token. */
  linkOrigin: string | undefined;
  private nextId = 1;
  private nextStatusId = 1;
  private tick = 0;
  private server: Server | undefined;
  base = '';

  constructor(
    readonly token: string,
    readonly owner = 'acme',
    readonly repo = 'web',
    /** `/api/v3` to answer like GitHub Enterprise Server. */
    readonly apiPrefix = '',
  ) {}

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      void this.handle(request, response).catch((error: unknown) => {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ message: String(error) }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return `${this.base}${this.apiPrefix}`;
  }

  async close(): Promise<void> {
    if (this.server === undefined) return;
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** A deterministic timestamp per write. */
  private now(): string {
    return new Date(Date.UTC(2026, 0, 1) + 60_000 * this.tick++).toISOString();
  }

  /** Store a deployment with a history of status states (oldest first), as an earlier run would have left it. */
  seed(environment: string, payload: unknown, states: string[], sha = `${'0'.repeat(39)}${this.nextId}`): number {
    const deployment = this.create({ ref: sha, environment, payload, sha });
    for (const state of states) this.addStatus(deployment, { state });
    return deployment.id;
  }

  /** What an API reader would see for a deployment: its states, newest first. */
  states(id: number): string[] {
    return [...(this.deployments.get(id)?.statuses ?? [])].reverse().map((s) => s.state);
  }

  /** Recorded requests, minus the GETs, as `METHOD path body` triples. */
  writes(): { method: string; path: string; body: unknown }[] {
    return this.requests.filter((r) => r.method !== 'GET').map(({ method, path, body }) => ({ method, path, body }));
  }

  private create(input: {
    ref: string;
    environment: string;
    payload: unknown;
    sha?: string;
    task?: string;
    description?: string;
    transient?: boolean;
    production?: boolean;
  }): FakeDeployment {
    const id = this.nextId++;
    const deployment: FakeDeployment = {
      id,
      sha: input.sha ?? (/^[0-9a-f]{40}$/.test(input.ref) ? input.ref : 'c0ffee'.padEnd(40, '0')),
      ref: input.ref,
      task: input.task ?? 'deploy',
      environment: input.environment,
      description: input.description ?? null,
      payload: input.payload ?? {},
      created_at: this.now(),
      creator: { login: 'github-actions[bot]' },
      transient_environment: input.transient ?? false,
      production_environment: input.production ?? input.environment === 'production',
      statuses: [],
    };
    this.deployments.set(id, deployment);
    return deployment;
  }

  private addStatus(deployment: FakeDeployment, body: Record<string, unknown>): FakeStatus {
    const status: FakeStatus = {
      id: this.nextStatusId++,
      state: String(body.state),
      description: typeof body.description === 'string' ? body.description : null,
      environment_url: typeof body.environment_url === 'string' ? body.environment_url : null,
      log_url: typeof body.log_url === 'string' ? body.log_url : null,
      created_at: this.now(),
    };
    deployment.statuses.push(status);
    return status;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(request.url!, this.base);
    const method = request.method!;
    this.requests.push({
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: text === '' ? undefined : JSON.parse(text),
      authorization: request.headers.authorization,
      accept: request.headers.accept,
      apiVersion: request.headers['x-github-api-version'] as string | undefined,
    });
    let override: Fault | undefined;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      if (override !== undefined) {
        status = override.status;
        body = override.body ?? { message: 'Server Error' };
        headers = override.headers ?? {};
      }
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      response.end(JSON.stringify(body));
    };
    const faultAt = this.faults.findIndex(
      (f) => (f.method === undefined || f.method === method) && url.pathname.endsWith(f.pathEndsWith ?? ''),
    );
    if (faultAt >= 0) {
      const [fault] = this.faults.splice(faultAt, 1);
      if (fault!.delayMs !== undefined) {
        const delay = fault!.delayMs;
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (response.destroyed || request.destroyed) return void response.destroy();
      }
      if (fault!.processed) override = fault;
      else return send(fault!.status, fault!.body ?? { message: 'Server Error' }, fault!.headers);
    }
    // GitHub takes the token with either scheme; Octokit sends `token`.
    if (![`Bearer ${this.token}`, `token ${this.token}`].includes(request.headers.authorization ?? '')) {
      return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    }
    const prefix = `${this.apiPrefix}/repos/${this.owner}/${this.repo}/deployments`;
    if (!url.pathname.startsWith(prefix)) return send(404, { message: 'Not Found' });
    const rest = url.pathname.slice(prefix.length);
    const denied = { message: 'Resource not accessible by integration', status: '403' };

    if (rest === '' && method === 'POST') {
      if (this.readOnly) return send(403, denied);
      const body = JSON.parse(text) as Record<string, unknown>;
      if (typeof body.ref !== 'string') return send(422, { message: 'Invalid request.', errors: ['ref is missing'] });
      const deployment = this.create({
        ref: body.ref,
        environment: String(body.environment ?? 'production'),
        payload: body.payload,
        task: body.task as string | undefined,
        description: body.description as string | undefined,
        transient: body.transient_environment as boolean | undefined,
        production: body.production_environment as boolean | undefined,
      });
      const { statuses: _, ...shown } = deployment;
      return send(201, shown);
    }
    if (rest === '' && method === 'GET') {
      const environment = url.searchParams.get('environment');
      const list = [...this.deployments.values()]
        .filter((d) => environment === null || d.environment === environment)
        .filter((d) => !url.searchParams.has('ref') || d.ref === url.searchParams.get('ref'))
        .filter((d) => !url.searchParams.has('task') || d.task === url.searchParams.get('task'))
        .sort((a, b) => b.id - a.id)
        .map(({ statuses: _, ...shown }) => shown);
      return this.page(url, list, send);
    }
    const one = /^\/(\d+)$/.exec(rest);
    if (one && method === 'GET') {
      const deployment = this.deployments.get(Number(one[1]));
      if (deployment === undefined) return send(404, { message: 'Not Found' });
      const { statuses: _, ...shown } = deployment;
      return send(200, shown);
    }
    const match = /^\/(\d+)\/statuses$/.exec(rest);
    if (match) {
      const deployment = this.deployments.get(Number(match[1]));
      if (deployment === undefined) return send(404, { message: 'Not Found' });
      if (method === 'POST') {
        if (this.readOnly) return send(403, denied);
        return send(201, this.addStatus(deployment, JSON.parse(text) as Record<string, unknown>));
      }
      return this.page(url, [...deployment.statuses].reverse(), send);
    }
    return send(404, { message: 'Not Found' });
  }

  private page(
    url: URL,
    items: unknown[],
    send: (status: number, body: unknown, headers?: Record<string, string>) => void,
  ) {
    const perPage = Math.min(this.maxPage, Number(url.searchParams.get('per_page') ?? 30));
    const page = Number(url.searchParams.get('page') ?? 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const at = (n: number) => {
      const target = new URL(url.pathname + url.search, this.linkOrigin ?? this.base);
      target.searchParams.set('page', String(n));
      return `<${target.toString()}>`;
    };
    const links: string[] = [];
    if (page < last) links.push(`${at(page + 1)}; rel="next"`, `${at(last)}; rel="last"`);
    if (page > 1) links.push(`${at(1)}; rel="first"`, `${at(page - 1)}; rel="prev"`);
    send(200, items.slice((page - 1) * perPage, page * perPage), links.length > 0 ? { link: links.join(', ') } : {});
  }
}
