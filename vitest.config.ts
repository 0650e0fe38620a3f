import { createLogger } from 'vite';
import { defineConfig } from 'vitest/config';

// CI (.ci/run) sets VITEST_JSON_REPORT to read the pass/fail counts from vitest's JSON report.
const jsonReport = process.env.VITEST_JSON_REPORT;

// @actions/workflow-parser ships source maps without their sources; vite warns once per file.
const logger = createLogger();
const warnOnce = logger.warnOnce.bind(logger);
logger.warnOnce = (message, options) => {
  if (!message.startsWith('Sourcemap for ')) warnOnce(message, options);
};

export default defineConfig({
  customLogger: logger,
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
