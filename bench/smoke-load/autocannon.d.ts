// The few parts of autocannon's API the benchmark uses (the package ships no types).
declare module 'autocannon' {
  interface Percentiles {
    p50: number;
    p90: number;
    p99: number;
  }
  interface Result {
    requests: { total: number; average: number };
    latency: Percentiles;
    duration: number;
    errors: number;
    non2xx: number;
  }
  export default function autocannon(options: { url: string; connections: number; duration: number }): Promise<Result>;
}
