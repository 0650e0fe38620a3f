#!/usr/bin/env node
// Runs the TypeScript CLI (src/cli.ts) through tsx's loader: no build step for a test tool.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
await main();
