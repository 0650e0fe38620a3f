/**
 * The load generator behind `load:`. It speaks HTTP/1.1 over raw keep-alive
 * sockets with the request bytes built once, because node:http's client costs
 * about 3.5× more CPU per request than autocannon (measured on loopback:
 * 14.8k req/s against autocannon's 52k), and on a 2-core runner the generator
 * shares the CPU with whatever it measures. One request per connection at a
 * time (no pipelining), like wrk and autocannon.
 *
 * Two models:
 * - `rate`: a constant arrival rate (open model). Request i is due at
 *   start + i/rate; its latency is measured from that intended time, not from
 *   when a connection became free, so a stalled server shows up in the
 *   percentiles instead of slowing the generator down (coordinated omission).
 * - `connections`: N connections each send the next request when the last one
 *   answered (closed model, what autocannon and wrk do); latency from the send.
 *
 * The achieved rate reads as a user expects (`counted` / duration):
 * - open model: requests sent within the duration and answered. All
 *   rate × duration requests are sent; one held back past the end (every
 *   connection busy) still goes out afterwards, so its latency from the
 *   intended time shows in the percentiles, but it is `late` and not counted.
 *   Once the duration is over, a request more than the timeout behind its
 *   time is not sent at all (also `late`): the run ends about a timeout after
 *   the duration however slow the target. The last requests, due just before
 *   the end, may go out LATE_AFTER_MS behind, more when this process stalled
 *   (timer and scheduler jitter): a target that keeps up gets rate × duration.
 * - closed model: responses completed within the duration; those answered
 *   after it ended are `late`.
 * Timeouts and socket errors are `unanswered` (and errors).
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { Histogram, type HistogramSnapshot } from './histogram';
import { type StatusMatcher, statusMatches } from './status';

export interface LoadTarget {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Skip certificate verification (https). */
  insecure?: boolean;
  /** PEM bundle to trust (https). */
  ca?: string;
  /** Client certificate and key (PEM), e.g. for the API server's service proxy. */
  cert?: string;
  key?: string;
}

export type LoadModel = { kind: 'rate'; rate: number; connections: number } | { kind: 'closed'; connections: number };

export interface LoadPlan {
  target: LoadTarget;
  model: LoadModel;
  durationMs: number;
  /** A request unanswered this long counts as an error and its connection is replaced. */
  requestTimeoutMs: number;
  /** Statuses that count as success (default 2xx and 3xx). */
  expectStatus?: StatusMatcher[];
}

/**
 * A request sent after the duration still counts when at most this far behind
 * its due time (plus however long this process itself stalled near the end):
 * timer jitter, not a target that fell behind, which drags the whole queue
 * further back than this.
 */
export const LATE_AFTER_MS = 25;

export interface LoadRun {
  /** Requests written to a socket. */
  sent: number;
  /** Responses received (any status). */
  responses: number;
  /** Responses that count towards the achieved rate (see the module comment). */
  counted: number;
  /**
   * Open model: requests sent after the end (every connection was busy), or not
   * sent at all because they were a timeout behind. Closed model: responses
   * that came after the end.
   */
  late: number;
  /** Requests that timed out or lost their socket. */
  unanswered: number;
  /** Responses with an unexpected status, plus timeouts and socket errors. */
  errors: number;
  /** Error counts by kind: `status 503`, `timeout`, `ECONNREFUSED`, ... */
  errorKinds: Record<string, number>;
  statusCounts: Record<string, number>;
  /** From the first intended send to the last response, in ms. */
  elapsedMs: number;
  /** Latencies of every response in microseconds. */
  latency: HistogramSnapshot;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const CONNECTION_CLOSE = /\r\nconnection:[ \t]*close/i;
const CHUNKED = /\r\ntransfer-encoding:[^\r]*chunked/i;
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

/** The request as bytes, built once for the whole run. */
export function encodeRequest(target: LoadTarget): { bytes: Buffer; url: URL } {
  const url = new URL(target.url);
  const body = target.body === undefined ? undefined : Buffer.from(target.body);
  const lines = [`${target.method} ${url.pathname}${url.search} HTTP/1.1`];
  const names = new Set(Object.keys(target.headers).map((name) => name.toLowerCase()));
  if (!names.has('host')) lines.push(`host: ${url.host}`);
  for (const [name, value] of Object.entries(target.headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new Error(`header ${name} contains a line break`);
    lines.push(`${name}: ${value}`);
  }
  if (body !== undefined && !names.has('content-length')) lines.push(`content-length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return { bytes: body === undefined ? head : Buffer.concat([head, body]), url };
}

type BodyMode = 'none' | 'length' | 'chunked' | 'until-close';

/** One keep-alive connection with an incremental response parser. */
class Connection {
  socket: net.Socket | undefined;
  /** When the request in flight was due (rate model) or sent (closed model); NaN when idle. */
  startedAt = Number.NaN;
  /** When the request in flight was written: the timeout counts from here, not from when it was due. */
  writtenAt = Number.NaN;
  /** Rate model: the request in flight was sent in time and counts towards the achieved rate. */
  counts = false;
  private pendingHead: Buffer | undefined;
  private inHead = true;
  private bodyMode: BodyMode = 'none';
  private remaining = 0;
  private status = 0;
  private closeAfter = false;
  /** Chunked decoding: reading a size line (partial text kept) or data (+ CRLF) or trailers. */
  private chunkState: 'size' | 'data' | 'trailer' = 'size';
  private chunkLine = '';

  constructor(
    private readonly connect: () => net.Socket,
    private readonly isHead: boolean,
    private readonly onDone: (connection: Connection, status: number) => void,
    private readonly onFail: (connection: Connection, kind: string) => void,
  ) {}

  get busy(): boolean {
    return !Number.isNaN(this.startedAt);
  }

  send(bytes: Buffer, startedAt: number): void {
    this.startedAt = startedAt;
    this.writtenAt = performance.now();
    this.resetParser();
    if (this.socket === undefined) this.open();
    this.socket!.write(bytes);
  }

  destroy(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
  }

  private open(): void {
    const socket = this.connect();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (socket === this.socket) this.onData(chunk);
    });
    const lost = (error?: Error) => {
      if (socket !== this.socket) return;
      this.socket = undefined;
      if (this.busy && !this.inHead && this.bodyMode === 'until-close') return this.finish();
      if (this.busy) this.onFail(this, (error as NodeJS.ErrnoException | undefined)?.code ?? 'connection closed');
    };
    socket.on('error', lost);
    socket.on('close', () => lost());
    this.socket = socket;
  }

  private resetParser(): void {
    this.inHead = true;
    this.pendingHead = undefined;
    this.bodyMode = 'none';
    this.remaining = 0;
    this.chunkState = 'size';
    this.chunkLine = '';
    this.closeAfter = false;
  }

  private onData(chunk: Buffer): void {
    let data = chunk;
    let offset = 0;
    while (offset < data.length && this.busy) {
      if (this.inHead) {
        if (this.pendingHead !== undefined) {
          data = Buffer.concat([this.pendingHead, data.subarray(offset)]);
          offset = 0;
          this.pendingHead = undefined;
        }
        const end = data.indexOf(CRLF2, offset);
        if (end < 0) {
          this.pendingHead = Buffer.from(data.subarray(offset));
          return;
        }
        this.parseHead(data.toString('latin1', offset, end));
        offset = end + 4;
        if (this.status >= 100 && this.status < 200) continue; // interim response: a real one follows
        this.inHead = false;
        if (this.bodyMode === 'none') {
          this.finish();
          continue;
        }
      }
      offset = this.consumeBody(data, offset);
    }
  }

  private parseHead(head: string): void {
    // "HTTP/1.1 200 OK": the code sits at a fixed position
    this.status = Number(head.slice(9, 12));
    this.closeAfter = CONNECTION_CLOSE.test(head) || head.startsWith('HTTP/1.0');
    if (this.isHead || this.status === 204 || this.status === 304 || this.status < 200) {
      this.bodyMode = 'none';
      return;
    }
    if (CHUNKED.test(head)) {
      this.bodyMode = 'chunked';
      return;
    }
    const length = CONTENT_LENGTH.exec(head);
    if (length !== null) {
      this.remaining = Number(length[1]);
      this.bodyMode = this.remaining === 0 ? 'none' : 'length';
      return;
    }
    this.bodyMode = 'until-close';
  }

  /** Returns the offset after what was consumed; calls finish() at the end of the body. */
  private consumeBody(data: Buffer, offset: number): number {
    if (this.bodyMode === 'until-close') return data.length;
    if (this.bodyMode === 'length') {
      const take = Math.min(this.remaining, data.length - offset);
      this.remaining -= take;
      if (this.remaining === 0) this.finish();
      return offset + take;
    }
    // chunked
    while (offset < data.length) {
      if (this.chunkState === 'data') {
        const take = Math.min(this.remaining, data.length - offset);
        this.remaining -= take;
        offset += take;
        if (this.remaining === 0) this.chunkState = 'size';
        continue;
      }
      const eol = data.indexOf(10, offset);
      if (eol < 0) {
        this.chunkLine += data.toString('latin1', offset, data.length);
        return data.length;
      }
      const line = (this.chunkLine + data.toString('latin1', offset, eol)).trim();
      this.chunkLine = '';
      offset = eol + 1;
      if (this.chunkState === 'trailer') {
        if (line === '') {
          this.finish();
          return offset;
        }
        continue;
      }
      if (line === '') continue; // the CRLF after a chunk's data
      const size = Number.parseInt(line, 16);
      if (size === 0) this.chunkState = 'trailer';
      else {
        this.remaining = size;
        this.chunkState = 'data';
      }
    }
    return offset;
  }

  private finish(): void {
    const status = this.status;
    if (this.closeAfter || this.bodyMode === 'until-close') this.destroy();
    this.onDone(this, status);
  }
}

function successByDefault(status: number): boolean {
  return status >= 200 && status < 400;
}

/**
 * Run one load plan on this thread and resolve when every request answered or
 * timed out. `signal` stops it early (what was measured so far is returned).
 */
export function runLoad(plan: LoadPlan, signal?: AbortSignal): Promise<LoadRun> {
  const { bytes, url } = encodeRequest(plan.target);
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const connect = secure
    ? () =>
        tls.connect({
          host,
          port,
          servername: net.isIP(host) ? undefined : host,
          rejectUnauthorized: plan.target.insecure !== true,
          ca: plan.target.ca,
          cert: plan.target.cert,
          key: plan.target.key,
        })
    : () => net.connect({ host, port });
  const isSuccess =
    plan.expectStatus === undefined ? successByDefault : (status: number) => statusMatches(plan.expectStatus!, status);

  const histogram = new Histogram();
  const statusCounts: Record<string, number> = {};
  const errorKinds: Record<string, number> = {};
  let sent = 0;
  let responses = 0;
  let counted = 0;
  let late = 0;
  let unanswered = 0;
  let errors = 0;
  let lastAnswer = 0;

  const model = plan.model;
  const rateModel = model.kind === 'rate';
  const intervalMs = rateModel ? 1000 / model.rate : 0;
  const total = rateModel ? Math.max(1, Math.round((model.rate * plan.durationMs) / 1000)) : Number.POSITIVE_INFINITY;
  const start = performance.now();
  const end = start + plan.durationMs;
  let stopping = false;
  /** Rate model: index of the next request on the schedule (sent + skipped). */
  let nextIndex = 0;

  /**
   * The longest this process did not run (a gap between 1 ms ticks) in the
   * last second of the run: a request held back by our own stall (GC, a busy
   * shared CPU) is not late, one held back by a target that keeps every
   * connection busy is.
   */
  let lastTick = start;
  let stallNearEnd = 0;

  /** Rate model, after the end: skip the requests a timeout behind schedule, which nobody waits for. */
  const skipHopeless = (now: number) => {
    if (now < end || nextIndex >= total) return;
    const firstAlive = Math.min(total, Math.ceil((now - plan.requestTimeoutMs - start) / intervalMs));
    if (nextIndex < firstAlive) {
      late += firstAlive - nextIndex;
      nextIndex = firstAlive;
    }
  };
  /** Rate model: whether a request due at `dueAt` and sent `now` counts towards the achieved rate. */
  const inTime = (dueAt: number, now: number) =>
    now < end || now - dueAt <= LATE_AFTER_MS + Math.max(stallNearEnd, now - lastTick);

  return new Promise<LoadRun>((resolve) => {
    const idle: Connection[] = [];
    const connections: Connection[] = [];
    let inFlight = 0;
    let finished = false;

    const countError = (kind: string) => {
      errors++;
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    };

    /** Give a free connection its next request, or park it. */
    const next = (connection: Connection, now: number) => {
      if (!stopping) {
        if (rateModel) {
          skipHopeless(now);
          const due = Math.min(total, Math.floor((now - start) / intervalMs) + 1);
          if (nextIndex < due) {
            const dueAt = start + nextIndex * intervalMs;
            connection.counts = inTime(dueAt, now);
            if (!connection.counts) late++;
            connection.send(bytes, dueAt);
            nextIndex++;
            sent++;
            inFlight++;
            return;
          }
        } else if (now < end) {
          connection.send(bytes, now);
          sent++;
          inFlight++;
          return;
        }
      }
      idle.push(connection);
      maybeFinish(now);
    };

    const onDone = (connection: Connection, status: number) => {
      const now = performance.now();
      inFlight--;
      responses++;
      if (rateModel ? connection.counts : now <= end) counted++;
      else if (!rateModel) late++;
      lastAnswer = now;
      histogram.record((now - connection.startedAt) * 1000);
      const key = String(status);
      statusCounts[key] = (statusCounts[key] ?? 0) + 1;
      if (!isSuccess(status)) countError(`status ${status}`);
      connection.startedAt = Number.NaN;
      next(connection, now);
    };
    const onFail = (connection: Connection, kind: string) => {
      inFlight--;
      unanswered++;
      countError(kind);
      connection.startedAt = Number.NaN;
      connection.destroy();
      next(connection, performance.now());
    };

    for (let i = 0; i < model.connections; i++) {
      connections.push(new Connection(connect, plan.target.method === 'HEAD', onDone, onFail));
    }

    const maybeFinish = (now: number) => {
      if (finished || inFlight > 0) return;
      const complete = stopping || (rateModel ? nextIndex >= total : now >= end);
      if (!complete) return;
      finished = true;
      clearInterval(ticker);
      signal?.removeEventListener('abort', onAbort);
      for (const connection of connections) connection.destroy();
      resolve({
        sent,
        responses,
        counted,
        late,
        unanswered,
        errors,
        errorKinds,
        statusCounts,
        elapsedMs: Math.max(plan.durationMs, (lastAnswer || now) - start),
        latency: histogram.snapshot(),
      });
    };

    // The tick releases due requests (rate), ends the run, and expires stuck requests.
    const tick = () => {
      const now = performance.now();
      if (now >= end - 1000) stallNearEnd = Math.max(stallNearEnd, now - lastTick);
      lastTick = now;
      if (rateModel) skipHopeless(now); // even while every connection hangs
      for (const connection of connections) {
        // a request still unanswered past the deadline: give up on it and its socket
        if (connection.busy && now - connection.writtenAt > plan.requestTimeoutMs) {
          inFlight--;
          unanswered++;
          countError('timeout');
          connection.startedAt = Number.NaN;
          connection.destroy();
          idle.push(connection);
        }
      }
      while (idle.length > 0) {
        const before = idle.length;
        next(idle.pop()!, now);
        if (idle.length >= before) break; // nothing due: it went back to the pool
      }
      maybeFinish(now);
    };
    const ticker = setInterval(tick, 1);
    const onAbort = () => {
      stopping = true;
      for (const connection of connections) {
        if (connection.busy) {
          inFlight--;
          connection.startedAt = Number.NaN;
        }
      }
      maybeFinish(performance.now());
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    if (!finished) for (const connection of connections) next(connection, start);
  });
}
