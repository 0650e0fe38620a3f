import { runAction } from '../lib/index.js';
process.exitCode = await runAction("smoke");
