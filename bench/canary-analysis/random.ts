/** Seeded random numbers for the simulation (mulberry32 and the usual transforms). */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in (0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  }

  normal(): number {
    return Math.sqrt(-2 * Math.log(this.next())) * Math.cos(2 * Math.PI * this.next());
  }

  /** Poisson: inversion for small means, a rounded normal for large ones (error far below the noise). */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 60) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    let k = 0;
    let p = Math.exp(-mean);
    let cumulative = p;
    const u = this.next();
    while (u > cumulative && k < 1000) {
      k++;
      p *= mean / k;
      cumulative += p;
    }
    return k;
  }

  /** Binomial(n, p): exact inversion when n·p is small (the error counts), normal otherwise. */
  binomial(n: number, p: number): number {
    if (n <= 0 || p <= 0) return 0;
    const mean = n * p;
    if (mean > 60) return Math.min(n, Math.max(0, Math.round(mean + Math.sqrt(mean * (1 - p)) * this.normal())));
    const q = 1 - p;
    let k = 0;
    let probability = q ** n;
    let cumulative = probability;
    const u = this.next();
    while (u > cumulative && k < n) {
      probability *= ((n - k) / (k + 1)) * (p / q);
      k++;
      cumulative += probability;
    }
    return k;
  }

  /** Gamma(shape, 1) by Marsaglia–Tsang. */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * this.next() ** (1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  }

  beta(a: number, b: number): number {
    const x = this.gamma(a);
    return x / (x + this.gamma(b));
  }
}
