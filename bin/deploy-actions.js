#!/usr/bin/env node
// The CLI: the same bundle the GitHub runner runs (dist/), driven by flags instead of INPUT_*.
import { runCli } from '../dist/lib/index.js';

process.exitCode = await runCli(process.argv.slice(2));
