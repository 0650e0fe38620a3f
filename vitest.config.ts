import { readFile } from 'node:fs/promises';
import { defineConfig } from 'vitest/config';

// CI (.ci/run) sets VITEST_JSON_REPORT to read the pass/fail counts from vitest's JSON report.
const jsonReport = process.env.VITEST_JSON_REPORT;

export default defineConfig({
  plugins: [
    {
      // @actions/workflow-parser ships source maps without their sources: vite would warn once per file
      // (70 lines in every run). Loading its files without the sourceMappingURL comment skips the maps.
      name: 'workflow-parser-without-sourcemaps',
      async load(id) {
        if (!id.includes('/@actions/workflow-parser/') || !id.endsWith('.js')) return null;
        const code = await readFile(id, 'utf8');
        return { code: code.replace(/^\/\/# sourceMappingURL=.*$/m, ''), map: null };
      },
    },
  ],
  test: {
    include: ['packages/*/test/**/*.test.ts', 'actions/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: jsonReport ? ['default', ['json', { outputFile: jsonReport }]] : ['default'],
    server: {
      deps: {
        // Imports its JSON schema without an import attribute, which Node refuses; let vite load it.
        inline: ['@actions/workflow-parser'],
      },
    },
  },
});
