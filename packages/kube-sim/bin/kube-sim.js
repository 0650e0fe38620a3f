#!/usr/bin/env -S node --max-semi-space-size=16
// Runs the TypeScript CLI (src/cli.ts) through tsx's loader: no build step for a test tool.
// --max-semi-space-size=16 (MB): kube-sim allocates fast (a watch event per write, serialised once and sent
// to every watcher), and V8 then grows the young generation to its maximum; capped, the standalone server's
// peak RSS is ~80 MB lower in bench/kube-sim (which starts kube-sim with the flags on this line). It applies to
// this process only: kube-sim started inside another program (tests) runs with that program's flags.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
await main();
