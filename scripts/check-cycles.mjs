#!/usr/bin/env node
// `npm run lint:cycles`: fails when files import each other in a loop. dpdm reads the imports (type-only
// ones count: a type cycle is still two files that cannot be understood apart) and resolves the workspace
// imports through each package's `exports`; this script groups the loops into strongly connected
// components so that one run lists every tangle, not only the first loop a depth-first walk meets.
//   node scripts/check-cycles.mjs [--root <dir>]   (default: the repository)
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDependencyTree } from 'dpdm';

// Where the project's own code lives; tests may import anything (fixtures, helpers) and are left out.
export const roots = [
  'packages/*/src/**/*.{ts,mts,mjs,js}',
  'actions/*/src/**/*.{ts,mts,mjs,js}',
  'actions/*/scripts/**/*.{ts,mts,mjs,js}',
  'scripts/**/*.{ts,mts,mjs,js}',
  'bench/**/*.{ts,mts,mjs,js}',
];

/** Every group of files that import each other in a loop, each with one shortest loop through it. */
export async function findCycles(root) {
  const tsconfig = join(root, 'tsconfig.json');
  // Keys and ids come back relative to `context`: the paths the report prints.
  const tree = await parseDependencyTree(roots, {
    cwd: root,
    context: root,
    tsconfig: existsSync(tsconfig) ? tsconfig : undefined,
    transform: false,
  });
  const edges = new Map();
  const unresolved = [];
  for (const [file, deps] of Object.entries(tree)) {
    if (!deps) continue; // a file outside the project (node_modules): not walked
    edges.set(file, [...new Set(deps.filter((d) => d.id && tree[d.id]).map((d) => d.id))]);
    // An import of our own code that does not resolve would hide its edges: say so rather than pass blind.
    for (const d of deps)
      if (!d.id && /^(\.|@deploy-actions\/)/.test(d.request)) unresolved.push(`${file}: ${d.request}`);
  }
  const groups = stronglyConnected(edges).filter((g) => g.length > 1 || edges.get(g[0]).includes(g[0]));
  return {
    unresolved,
    cycles: groups.map((files) => ({
      files: files.sort(),
      loop: shortestLoop(edges, files.sort()[0], new Set(files)),
    })),
  };
}

// Tarjan's algorithm, iterative (the tree is deep enough to make recursion a risk on small stacks).
function stronglyConnected(edges) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const groups = [];
  let next = 0;
  for (const start of edges.keys()) {
    if (index.has(start)) continue;
    const work = [[start, 0]];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const [node, i] = frame;
      const deps = edges.get(node) ?? [];
      if (i < deps.length) {
        frame[1]++;
        const dep = deps[i];
        if (!index.has(dep)) {
          index.set(dep, next);
          low.set(dep, next++);
          stack.push(dep);
          onStack.add(dep);
          work.push([dep, 0]);
        } else if (onStack.has(dep)) low.set(node, Math.min(low.get(node), index.get(dep)));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(node)));
      }
      if (low.get(node) === index.get(node)) {
        const group = [];
        let member;
        do {
          member = stack.pop();
          onStack.delete(member);
          group.push(member);
        } while (member !== node);
        groups.push(group);
      }
    }
  }
  return groups;
}

// Breadth-first from `start` back to itself, staying inside its group: the loop a reader should look at.
function shortestLoop(edges, start, inGroup) {
  const cameFrom = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const dep of edges.get(node) ?? []) {
      if (!inGroup.has(dep)) continue;
      if (dep === start) {
        const loop = [start];
        for (let at = node; at !== start; at = cameFrom.get(at)) loop.unshift(at);
        loop.unshift(start);
        return loop;
      }
      if (!cameFrom.has(dep)) {
        cameFrom.set(dep, node);
        queue.push(dep);
      }
    }
  }
  return [start, start];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { root: { type: 'string' } } });
  const root = resolve(values.root ?? join(import.meta.dirname, '..'));
  const { cycles, unresolved } = await findCycles(root);
  for (const line of unresolved) console.error(`unresolved import (the cycle check cannot see past it): ${line}`);
  for (const { files, loop } of cycles) {
    console.error(`import cycle: ${loop.join(' -> ')}`);
    if (files.length > loop.length - 1) console.error(`  files in the same tangle: ${files.join(', ')}`);
  }
  if (cycles.length > 0 || unresolved.length > 0) {
    console.error(`${cycles.length} import cycle(s), ${unresolved.length} unresolved import(s): see above`);
    process.exit(1);
  }
  console.log('no import cycles');
}
