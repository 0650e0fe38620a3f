/**
 * Writes what is generated from the policy schema (packages/core/src/preflight/schema.ts):
 * the published JSON Schema (actions/preflight/deploy-policy.schema.json) and the validator ajv compiles
 * from it (standalone code, so a run neither loads ajv nor compiles the schema: about 130 ms saved).
 * The preflight tests fail when either is stale.
 *
 *   npx tsx actions/preflight/scripts/generate.ts && npx biome check --write actions/preflight/deploy-policy.schema.json
 */
import { writeFileSync } from 'node:fs';
import { generated } from '../test/generated';

const files = await generated();
for (const [path, text] of Object.entries(files)) writeFileSync(new URL(path, import.meta.url), text);
console.log(`wrote ${Object.keys(files).join(', ')}`);
