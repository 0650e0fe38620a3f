/**
 * The functions with the most self time (and, after them, the most total time) in a V8 .cpuprofile, such as
 * the one `CPU_PROF=/tmp/sim.cpuprofile npx tsx bench/kube-sim/run.ts` writes of kube-sim's rollout.
 * Run: npx tsx bench/kube-sim/profile-top.ts /tmp/sim.cpuprofile [rows]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

const profile = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Profile;
const rows = Number(process.argv[3] ?? 30);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}`;
const msPerSample = (profile.endTime - profile.startTime) / profile.samples.length / 1000;

const self = new Map<string, number>();
const total = new Map<string, number>();
for (const id of profile.samples) {
  const leaf = byId.get(id)!;
  self.set(name(leaf), (self.get(name(leaf)) ?? 0) + 1);
  // Total time: each function once per sample, however deep it recurses.
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const n = name(byId.get(at)!);
    if (seen.has(n)) continue;
    seen.add(n);
    total.set(n, (total.get(n) ?? 0) + 1);
  }
}
const print = (title: string, counts: Map<string, number>) => {
  console.log(title);
  for (const [n, c] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    const pct = ((100 * c) / profile.samples.length).toFixed(1);
    console.log(`${(c * msPerSample).toFixed(0).padStart(7)} ms ${pct.padStart(5)}%  ${n}`);
  }
};
console.log(`${profile.samples.length} samples, ${((profile.endTime - profile.startTime) / 1e6).toFixed(2)} s`);
print('self time:', self);
print('total time:', total);
