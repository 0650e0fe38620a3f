/**
 * The runtime: the port domain code receives, its three adapters (GitHub runner,
 * terminal, memory) and the action contract the dispatcher calls.
 */
export { type ActionDefinition, type ActionOutcome, executeAction, failedWith } from './action';
export { buildRuntime, encodeOutput, type RuntimeParts, type Sink } from './base';
export { COMMON_INPUT_NAMES, commonInputs } from './common';
export { createGitHubRuntime, escapeData, escapeProperty, type GitHubRuntimeOptions } from './github';
export { createMemoryRuntime, type LogRecord, type MemoryRuntime, type MemoryRuntimeOptions } from './memory';
export type * from './port';
export { createTerminalRuntime, type TerminalRuntimeOptions } from './terminal';
