#!/usr/bin/env node
// The CLI: the same bundle the GitHub runner runs (dist/), driven by flags instead of INPUT_*.
// DEPLOY_ACTIONS_DIST points it at another build (node scripts/build.mjs --out DIR), e.g. a fresh one in .tmp/.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = process.env.DEPLOY_ACTIONS_DIST;
const { runCli } = await import(dist ? pathToFileURL(resolve(dist, 'lib', 'index.js')).href : '../dist/lib/index.js');

process.exitCode = await runCli(process.argv.slice(2));
