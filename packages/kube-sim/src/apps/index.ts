export { type AppResponse, appLabels, SimulatedApps } from './apps';
export { lognormalParams, sampleLatency } from './latency';
export { MetricsListener } from './listener';
export { AppMetrics, BUCKETS, type RequestLabels } from './metrics';
export { backendsFor, TrafficGenerator, type TrafficHandle, type TrafficOptions } from './traffic';
