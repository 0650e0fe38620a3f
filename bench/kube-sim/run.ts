/**
 * kube-sim with its controllers under load: 200 Deployments × 10 pods created over REST, 20 open watches,
 * then a rolling update of every Deployment (one PATCH each) carried out by the simulated controllers and
 * kubelet in real time, while 16 clients poll Deployment status as `rollout status` would. Prints request
 * latency p50/p99 (client-observed and server-side), watch events delivered, controller writes and peak
 * RSS against the targets (p99 < 20 ms, memory < 500 MB).
 *
 * Three processes besides this coordinator, as in real use: kube-sim (server + controllers, as the `kube-sim`
 * CLI runs it, with the V8 flags of its bin's shebang line), the 16 pollers (whose latency is measured) and the 20 watch consumers (whose throughput is
 * measured). Each reports its own CPU time, event-loop delay and peak RSS; the memory target applies to
 * kube-sim's process.
 * Run: npx tsx bench/kube-sim/run.ts [deployments] [podsPerDeployment]
 *   SLICE_MS=n (the controllers' yieldAfterMs), HISTORY=n (watch history), SIM_NODE_OPTIONS="--flag ..."
 *   (extra V8 flags for kube-sim's process), CPU_PROF=file.cpuprofile (kube-sim's CPU profile of the rollout; the
 *   inspector's sampling costs some CPU, so do not compare the table's numbers from such a run).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { reportResult } from '../support';

const DEPLOYMENTS = Number(process.argv[2] ?? 200);
const PODS = Number(process.argv[3] ?? 10);
const WATCHES = 20;
const CLIENTS = 16;
const TARGET_P99_MS = 20;
const TARGET_RSS_MB = 500;
const ROLE = process.env.KUBE_SIM_BENCH_ROLE ?? 'main';

/**
 * The same bench (this three-process form) on the code before the second round of issue #3 work (commit
 * 8d03a57), in runs alternating with the current code on this 2-core machine (load average 3.3-4.5): medians
 * of 5 runs. Keyed by the row names below; printed as the "before" column.
 */
const BEFORE: Record<string, string> = {
  'client latency p50 (ms)': '6.8',
  'client latency p99 (ms)': '33.6',
  'server latency p50 (ms)': '0.9',
  'server latency p99 (ms)': '15.0',
  'event-loop delay p99, kube-sim (ms)': '24.1',
  'event-loop delay p99, pollers (ms)': '12.6',
  'event-loop delay p99, watch consumers (ms)': '15.4',
  'peak RSS, kube-sim (MB)': '471',
  'peak heap used, kube-sim (MB)': '217',
  'live heap after a full GC, kube-sim (MB)': '89',
  'watch events delivered': '127435',
  'watch data delivered (MB)': '315',
  'rollout of all (s)': '3.6',
  'CPU time, kube-sim, start to end (s)': '6.6',
};

type Msg = Record<string, unknown> & { type: string };

/** Peak RSS sampled every 50 ms, event-loop delay and CPU time of this process: every role reports them. */
function processMeter() {
  let peakRss = 0;
  const timer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  let cpuAtRoll = process.cpuUsage();
  return {
    rolling() {
      loop.enable();
      cpuAtRoll = process.cpuUsage();
    },
    report() {
      clearInterval(timer);
      loop.disable();
      const all = process.cpuUsage();
      const roll = process.cpuUsage(cpuAtRoll);
      return {
        peakRssMb: Math.max(peakRss, process.memoryUsage().rss) / 1024 / 1024,
        loopP99: loop.percentile(99) / 1e6,
        cpuS: (all.user + all.system) / 1e6,
        rollCpuS: (roll.user + roll.system) / 1e6,
      };
    },
  };
}

/** A CPU profile of this process between start() and stop(), written to `file` (the inspector, in-process). */
async function startProfile(file: string) {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  return {
    start: () => session.post('Profiler.start'),
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

type Meter = ReturnType<ReturnType<typeof processMeter>['report']>;

function send(msg: Msg): void {
  process.send!(msg);
}

function onMessage(handler: (m: Msg) => void | Promise<void>): void {
  process.on('message', (m: Msg) => {
    Promise.resolve(handler(m)).catch((error) => {
      console.error(error);
      process.exit(1);
    });
  });
}

if (ROLE === 'sim') {
  // kube-sim's own process, set up as the CLI does (server + controllers) with the bench's behaviour.
  const { installControllers } = await import('../../packages/kube-sim/src/defaults');
  const { KubeSim } = await import('../../packages/kube-sim/src/index');
  const meter = processMeter();
  const sim = await KubeSim.start({ historyLimit: Number(process.env.HISTORY ?? 20_000) });
  installControllers(sim, process.env.SLICE_MS ? { yieldAfterMs: Number(process.env.SLICE_MS) } : {});
  // Pods become Ready 200 ms after they start: a rollout of 10 pods takes a few waves of real time.
  sim.behaviour.set('*', { readyAfter: '200ms' });
  let peakHeap = 0;
  const heapTimer = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 50);
  let rvBefore = 0;
  // CPU_PROF=file.cpuprofile: a V8 CPU profile of kube-sim's process from the PATCHes to the end of the rollout.
  const profile = process.env.CPU_PROF ? await startProfile(process.env.CPU_PROF) : undefined;
  onMessage(async (m) => {
    if (m.type === 'rolling') {
      await profile?.start();
      sim.stats.reset();
      meter.rolling();
      rvBefore = Number(sim.store.resourceVersion);
      send({ type: 'ack' });
    } else if (m.type === 'done') {
      clearInterval(heapTimer);
      const proc = meter.report();
      await profile?.stop();
      // With --expose-gc: the live heap after the rollout (what the store and controllers really hold).
      const gc = (globalThis as { gc?: () => void }).gc;
      let liveHeapMb: number | undefined;
      if (gc) {
        gc();
        liveHeapMb = process.memoryUsage().heapUsed / 1024 / 1024;
      }
      send({
        type: 'report',
        proc,
        p50: sim.stats.percentile(50),
        p99: sim.stats.percentile(99),
        peakHeapMb: peakHeap / 1024 / 1024,
        liveHeapMb,
        writes: Number(sim.store.resourceVersion) - rvBefore,
        pods: sim.store.count('v1/pods'),
      });
      await sim.stop();
      process.exit(0);
    }
  });
  send({ type: 'ready', url: sim.url, ca: sim.caPem });
} else if (ROLE === 'watch') {
  // The watch consumers: 10 on pods, 5 on Deployments, 5 on ReplicaSets, all namespaces.
  const { url, ca } = JSON.parse(process.env.KUBE_SIM_BENCH_SERVER!) as { url: string; ca: string };
  const meter = processMeter();
  const agent = new Agent({ keepAlive: true, maxSockets: WATCHES, ca });
  let events = 0;
  let bytes = 0;
  let open = 0;
  /** Events per type (the letter after `{"type":"`) on one pod watch: what the kubelet and controllers write. */
  const podTypes: Record<string, number> = {};
  const TYPE_AT = '{"type":"'.length;
  const TYPES: Record<number, string> = { 65: 'ADDED', 77: 'MODIFIED', 68: 'DELETED', 66: 'BOOKMARK', 69: 'ERROR' };
  function openWatch(path: string, countTypes: boolean): void {
    const req = request(`${url}${path}?watch=true`, { agent }, (res) => {
      open++;
      let lineStart = true;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        // The type letter of each line that starts in this chunk (a line split right there is not counted).
        const countAt = (p: number) => {
          if (!countTypes || p >= chunk.length) return;
          const t = TYPES[chunk[p]!] ?? '?';
          podTypes[t] = (podTypes[t] ?? 0) + 1;
        };
        if (lineStart) countAt(TYPE_AT);
        // One event per line; indexOf keeps the counting cheap.
        for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) {
          events++;
          countAt(at + 1 + TYPE_AT);
        }
        lineStart = chunk[chunk.length - 1] === 10;
      });
    });
    req.on('error', () => {});
    req.end();
  }
  let rollStart = 0;
  onMessage(async (m) => {
    if (m.type === 'rolling') {
      events = 0;
      bytes = 0;
      for (const k of Object.keys(podTypes)) delete podTypes[k];
      meter.rolling();
      rollStart = performance.now();
      send({ type: 'ack' });
    } else if (m.type === 'done') {
      const seconds = (performance.now() - rollStart) / 1000;
      send({ type: 'report', proc: meter.report(), events, bytes, seconds, podTypes });
      process.exit(0);
    }
  });
  for (let i = 0; i < WATCHES; i++) {
    const path = i % 2 === 0 ? '/api/v1/pods' : i % 4 === 1 ? '/apis/apps/v1/deployments' : '/apis/apps/v1/replicasets';
    openWatch(path, i === 0);
  }
  while (open < WATCHES) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 500)); // let the initial ADDED events drain
  send({ type: 'watching' });
} else if (ROLE === 'poll') {
  // The 16 clients: create the Deployments, then PATCH each and poll its status as `kubectl rollout status`.
  const { url, ca } = JSON.parse(process.env.KUBE_SIM_BENCH_SERVER!) as { url: string; ca: string };
  const meter = processMeter();
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS + 4, ca });
  let latencies: number[] = [];

  function call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<string> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${url}${path}`,
        {
          method,
          agent,
          headers: data ? { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } : {},
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => {
            latencies.push(performance.now() - started);
            if ((res.statusCode ?? 500) >= 300)
              reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`));
            else resolve(text);
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  async function pool<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < items.length) await fn(items[next++]!);
      }),
    );
  }

  const apps = '/apis/apps/v1/namespaces/default';
  const names = Array.from({ length: DEPLOYMENTS }, (_, i) => `app-${i}`);
  const template = (name: string, image: string) => ({
    metadata: { labels: { app: name } },
    spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] },
  });

  /** Poll one Deployment until it reports a finished rollout of `image`, as `kubectl rollout status` judges it. */
  async function waitRolledOut(name: string, image: string): Promise<void> {
    for (;;) {
      const d = JSON.parse(await call('GET', `${apps}/deployments/${name}`));
      const s = d.status ?? {};
      const done =
        d.spec.template.spec.containers[0].image === image &&
        (s.observedGeneration ?? 0) >= d.metadata.generation &&
        s.updatedReplicas === PODS &&
        s.replicas === PODS &&
        s.availableReplicas === PODS;
      if (done) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  onMessage(async (m) => {
    if (m.type !== 'rolling') return;
    latencies = [];
    meter.rolling();
    const rollStart = performance.now();
    await pool(names, async (name) => {
      await call(
        'PATCH',
        `${apps}/deployments/${name}`,
        { spec: { template: template(name, 'img:2') } },
        'application/strategic-merge-patch+json',
      );
    });
    const patchedMs = performance.now() - rollStart;
    await pool(names, (name) => waitRolledOut(name, 'img:2'));
    const rollMs = performance.now() - rollStart;
    await new Promise((r) => setTimeout(r, 300));
    send({ type: 'report', proc: meter.report(), latencies, patchedMs, rollMs });
    process.exit(0);
  });
  const setupStart = performance.now();
  await pool(names, async (name) => {
    await call('POST', `${apps}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: { replicas: PODS, selector: { matchLabels: { app: name } }, template: template(name, 'img:1') },
    });
  });
  await pool(names, (name) => waitRolledOut(name, 'img:1'));
  send({ type: 'set-up', setupMs: performance.now() - setupStart });
} else {
  const self = fileURLToPath(import.meta.url);
  const children: ChildProcess[] = [];
  function start(role: string, env: Record<string, string> = {}, execArgv: string[] = []): ChildProcess {
    const child = fork(self, process.argv.slice(2), {
      env: { ...process.env, ...env, KUBE_SIM_BENCH_ROLE: role },
      execArgv: [...process.execArgv, ...execArgv],
      stdio: 'inherit',
    });
    child.on('exit', (code) => {
      if (code !== 0) {
        console.error(`bench: the ${role} process exited with ${code}`);
        for (const c of children) c.kill();
        process.exit(1);
      }
    });
    children.push(child);
    return child;
  }
  function next<T extends Msg>(child: ChildProcess, type: string): Promise<T> {
    return new Promise((resolve) => {
      const on = (m: Msg) => {
        if (m.type !== type) return;
        child.off('message', on);
        resolve(m as T);
      };
      child.on('message', on);
    });
  }

  // The V8 flags the `kube-sim` CLI runs with (its bin's shebang line), then any extra ones asked for.
  const bin = readFileSync(new URL('../../packages/kube-sim/bin/kube-sim.js', import.meta.url), 'utf8');
  const cliFlags = (bin.split('\n')[0]!.match(/\bnode\b(.*)$/)?.[1] ?? '').split(/\s+/).filter(Boolean);
  const simFlags = [...cliFlags, ...(process.env.SIM_NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean)];
  const sim = start('sim', {}, ['--expose-gc', ...simFlags]);
  const ready = await next<Msg & { url: string; ca: string }>(sim, 'ready');
  const server = { KUBE_SIM_BENCH_SERVER: JSON.stringify({ url: ready.url, ca: ready.ca }) };
  const poll = start('poll', server);
  const { setupMs } = await next<Msg & { setupMs: number }>(poll, 'set-up');
  const watch = start('watch', server);
  await next(watch, 'watching');
  for (const c of [sim, watch]) {
    c.send({ type: 'rolling' });
    await next(c, 'ack');
  }
  const pollDone = next<Msg & { proc: Meter; latencies: number[]; patchedMs: number; rollMs: number }>(poll, 'report');
  poll.send({ type: 'rolling' });
  const polled = await pollDone;
  const watchDone = next<
    Msg & { proc: Meter; events: number; bytes: number; seconds: number; podTypes: Record<string, number> }
  >(watch, 'report');
  watch.send({ type: 'done' });
  const watched = await watchDone;
  const simDone = next<
    Msg & {
      proc: Meter;
      p50: number;
      p99: number;
      peakHeapMb: number;
      liveHeapMb?: number;
      writes: number;
      pods: number;
    }
  >(sim, 'report');
  sim.send({ type: 'done' });
  const served = await simDone;

  const { latencies } = polled;
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  };
  const fmt = (n: number) => n.toFixed(1);
  const mb = (n: number) => n.toFixed(0);
  const clientP99 = pct(latencies, 99);
  const rssMb = served.proc.peakRssMb;
  const rows: [string, string, string, string][] = [
    ['client latency p50 (ms)', fmt(pct(latencies, 50)), '', ''],
    ['client latency p99 (ms)', fmt(clientP99), `< ${TARGET_P99_MS}`, clientP99 < TARGET_P99_MS ? 'ok' : 'MISSED'],
    ['server latency p50 (ms)', fmt(served.p50), '', ''],
    ['server latency p99 (ms)', fmt(served.p99), `< ${TARGET_P99_MS}`, served.p99 < TARGET_P99_MS ? 'ok' : 'MISSED'],
    ['event-loop delay p99, kube-sim (ms)', fmt(served.proc.loopP99), '', ''],
    ['event-loop delay p99, pollers (ms)', fmt(polled.proc.loopP99), '', ''],
    ['event-loop delay p99, watch consumers (ms)', fmt(watched.proc.loopP99), '', ''],
    ['peak RSS, kube-sim (MB)', mb(rssMb), `< ${TARGET_RSS_MB}`, rssMb < TARGET_RSS_MB ? 'ok' : 'MISSED'],
    ['peak heap used, kube-sim (MB)', mb(served.peakHeapMb), '', ''],
    ...(served.liveHeapMb !== undefined
      ? [
          ['live heap after a full GC, kube-sim (MB)', mb(served.liveHeapMb), '', ''] as [
            string,
            string,
            string,
            string,
          ],
        ]
      : []),
    [
      'peak RSS, pollers / watch consumers (MB)',
      `${mb(polled.proc.peakRssMb)} / ${mb(watched.proc.peakRssMb)}`,
      '',
      '',
    ],
    ['watch events delivered', String(watched.events), '', ''],
    ['watch data delivered (MB)', mb(watched.bytes / 1024 / 1024), '', ''],
    ['watch events per second (all 20 watches)', (watched.events / watched.seconds).toFixed(0), '', ''],
    ['writes (controllers + clients)', String(served.writes), '', ''],
    ['requests during rollout (pollers)', String(latencies.length), '', ''],
    ['rollout of all (s)', fmt(polled.rollMs / 1000), '', ''],
    ['CPU time, kube-sim, start to end (s)', fmt(served.proc.cpuS), '', ''],
    [
      'CPU time during the rollout: kube-sim / pollers / watchers (s)',
      [served, polled, watched].map((r) => fmt(r.proc.rollCpuS)).join(' / '),
      '',
      '',
    ],
  ];
  console.log(
    `kube-sim with controllers: ${DEPLOYMENTS} deployments x ${PODS} pods, ${WATCHES} watches, ${CLIENTS} clients polling status (kube-sim, pollers and watch consumers in 3 processes)`,
  );
  console.log(`kube-sim's node flags: ${simFlags.join(' ') || '(none)'}`);
  console.log(`setup (create + first rollout): ${fmt(setupMs / 1000)} s; ${served.pods} pods at the end`);
  console.log(`all ${DEPLOYMENTS} PATCHes sent in ${fmt(polled.patchedMs)} ms`);
  console.log(
    `events on one pod watch during the rollout: ${Object.entries(watched.podTypes)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ')}`,
  );
  console.log('');
  console.log('| measure | value | target | | before (8d03a57) |');
  console.log('| --- | ---: | ---: | --- | ---: |');
  for (const [m, v, t, ok] of rows) console.log(`| ${m} | ${v} | ${t} | ${ok} | ${BEFORE[m] ?? ''} |`);
  for (const [m, v, t, ok] of rows)
    if (t !== '')
      reportResult({
        measure: `${DEPLOYMENTS} Deployments x ${PODS} pods: ${m}`,
        ours: v,
        target: t,
        met: ok === 'ok',
      });
  process.exit(0);
}
