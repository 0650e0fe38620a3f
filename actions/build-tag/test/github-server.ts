/**
 * A loopback GitHub REST API for build-tag's tests: the repository (as GET /repos/{owner}/{repo} answers,
 * trimmed to the fields build-tag reads plus a few neighbours), commits, and the git database endpoints for
 * tags (refs and annotated tag objects). Records every request.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo {
  name: string;
  full_name: string;
  description: string | null;
  html_url: string;
  default_branch: string;
  license: { key: string; spdx_id: string; name: string } | null;
}

export const ACME_WEB: FakeRepo = {
  name: 'web',
  full_name: 'acme/web',
  description: 'The Acme web shop',
  html_url: 'https://github.com/acme/web',
  default_branch: 'master',
  license: { key: 'mit', spdx_id: 'MIT', name: 'MIT License' },
};

export class FakeGitHubApi {
  readonly requests: { method: string; path: string; body: unknown; authorization: string | undefined }[] = [];
  /** refs/tags/<name> → the sha the ref points at (a tag object for annotated tags). */
  readonly refs = new Map<string, string>();
  /** Annotated tag objects by sha. */
  readonly tagObjects = new Map<string, { tag: string; message: string; object: { sha: string; type: string } }>();
  commitDates = new Map<string, string>();
  private server: Server | undefined;
  private tagCounter = 0;
  url = '';

  constructor(readonly repo: FakeRepo = ACME_WEB) {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      request.on('end', () => {
        const path = new URL(request.url ?? '/', 'http://x').pathname;
        const body = text ? JSON.parse(text) : undefined;
        this.requests.push({ method: request.method ?? '', path, body, authorization: request.headers.authorization });
        const [status, answer] = this.answer(request.method ?? 'GET', path, body);
        response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private answer(
    method: string,
    path: string,
    body: { tag?: string; message?: string; object?: string; type?: string; ref?: string; sha?: string } | undefined,
  ): [number, unknown] {
    const base = `/repos/${this.repo.full_name}`;
    const notFound = [404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' }];
    if (method === 'GET' && path === base) {
      return [
        200,
        {
          id: 1296269,
          node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5',
          private: false,
          owner: { login: this.repo.full_name.split('/')[0] },
          ...this.repo,
          topics: [],
          visibility: 'public',
        },
      ];
    }
    const commit = new RegExp(`^${base}/commits/([0-9a-f]{7,40})$`).exec(path);
    if (method === 'GET' && commit) {
      const date = this.commitDates.get(commit[1]!);
      if (!date) return notFound as [number, unknown];
      return [200, { sha: commit[1], commit: { author: { date }, committer: { name: 'GitHub', date }, message: 'x' } }];
    }
    const ref = new RegExp(`^${base}/git/ref/(tags/.+)$`).exec(path);
    if (method === 'GET' && ref) {
      const sha = this.refs.get(`refs/${ref[1]}`);
      if (!sha) return notFound as [number, unknown];
      return [200, { ref: `refs/${ref[1]}`, object: { sha, type: this.tagObjects.has(sha) ? 'tag' : 'commit' } }];
    }
    const tagObject = new RegExp(`^${base}/git/tags/([0-9a-f]{40})$`).exec(path);
    if (method === 'GET' && tagObject) {
      const found = this.tagObjects.get(tagObject[1]!);
      return found ? [200, { sha: tagObject[1], ...found }] : (notFound as [number, unknown]);
    }
    if (method === 'POST' && path === `${base}/git/tags` && body?.tag && body.object) {
      const sha = (++this.tagCounter).toString(16).padStart(40, 'f');
      this.tagObjects.set(sha, {
        tag: body.tag,
        message: body.message ?? '',
        object: { sha: body.object, type: body.type ?? 'commit' },
      });
      return [201, { sha, tag: body.tag, message: body.message, object: { sha: body.object, type: 'commit' } }];
    }
    if (method === 'POST' && path === `${base}/git/refs` && body?.ref && body.sha) {
      if (this.refs.has(body.ref))
        return [422, { message: 'Reference already exists', documentation_url: 'https://docs.github.com/rest' }];
      this.refs.set(body.ref, body.sha);
      return [201, { ref: body.ref, object: { sha: body.sha, type: 'tag' } }];
    }
    return notFound as [number, unknown];
  }
}
