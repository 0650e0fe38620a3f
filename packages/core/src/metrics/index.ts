/**
 * Metric providers (Prometheus, Datadog, JSON over HTTP, Kubernetes pod signals)
 * and the canary analysis: threshold rules and canary-versus-control statistics.
 */
export { DatadogProvider } from './datadog';
export {
  type AnalysisOptions,
  type AnalysisResult,
  type AnalysisTargets,
  createProvider,
  MAX_CONSECUTIVE_ERRORS,
  type Measurement,
  type MetricVerdict,
  runAnalysis,
  secretsOf,
  type Verdict,
  validateAnalysis,
} from './engine';
export { parseJsonPath, readJsonPath } from './jsonpath';
export {
  type CanaryPodSource,
  crashloop,
  KUBERNETES_SIGNALS,
  type KubernetesSignal,
  notReady,
  POD_SIGNALS,
  type PodLike,
  type PodSignal,
  restarts,
} from './kubernetes';
export { PLACEHOLDERS, type PlaceholderValues, placeholdersIn, substitute } from './placeholders';
export { PrometheusProvider } from './prometheus';
export { type MetricProvider, ProviderUnavailable, type QueryOptions } from './provider';
export {
  BreachCounter,
  type CheckOutcome,
  CountComparisonJudge,
  type Judgement,
  ThresholdJudge,
  ValueComparisonJudge,
} from './rules';
export {
  type CountComparisonMetric,
  DEFAULT_CONFIDENCE,
  type KubernetesMetric,
  type MetricSpec,
  type ParseOptions,
  type ProviderConfig,
  parseAnalysisSpec,
  type ThresholdMetric,
  type ValueComparisonMetric,
} from './spec';
export { type CountSample, hodgesLehmann, kayentaHigh, mannWhitney, SequentialCountTest } from './stats';
export { renderAnalysisSummary } from './summary';
export { WebProvider } from './web';
