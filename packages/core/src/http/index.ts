/**
 * HTTP checks and the load gate, shared by smoke, canary-promote (preview
 * checks), rollback (verification) and pre-flight gates:
 *
 *   const spec = parseCheckSpec(yaml, { source: 'smoke.yml' });   // throws CheckSpecError (line:column)
 *   const result = await runChecks(spec, { clock, log, mask, signal, defaults: { retries: 30, retryIntervalMs: 10_000 } });
 *   summary.append(renderChecksSummary(result));
 */
export { type AssertionResult, bodyPreview } from './assertions';
export { HISTOGRAM_MAX_VALUE, Histogram, type HistogramBucket, type HistogramSnapshot } from './histogram';
export { type CheckSpecInputOptions, checkSpecInput, loadSpecInput, readSpecText } from './inputs';
export { type KubeConfigLike, kubeServiceProxy } from './kube-proxy';
export { type LoadModel, type LoadPlan, type LoadRun, type LoadTarget, runLoad } from './load';
export {
  type LoadGateResult,
  type LoadSpec,
  type LoadThresholds,
  parseLoadSpec,
  type RunLoadGateOptions,
  runLoadGate,
  type ThresholdResult,
} from './load-gate';
export { CheckSpecError, type ParseCheckSpecOptions, parseCheckSpec, SECRET_HEADER } from './parse';
export {
  CHECK_DEFAULTS,
  type CheckDefaults,
  type CheckResult,
  type ChecksResult,
  type RunChecksOptions,
  runChecks,
} from './runner';
export {
  type ApiServerProxyOptions,
  apiServerProxy,
  type ServiceProxy,
  type ServiceProxyInit,
  type ServiceProxyTarget,
  serviceProxyPath,
} from './service-proxy';
export type * from './spec';
export { describeStatus, parseStatus, type StatusMatcher, statusMatches } from './status';
export { renderChecksSummary, renderLoadSummary } from './summary';
export { type HttpRequestInit, type HttpResponse, httpRequest, RequestFailure } from './transport';
