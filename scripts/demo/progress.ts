/**
 * What the demo shows while it runs: on a terminal one line rewritten in place (step, canary weight,
 * error rate, p99); elsewhere (CI logs, tests) a plain line whenever the weight changes. Every sample
 * is kept for the chart of weight and error rate over time printed after each release.
 */
export interface Sample {
  /** Seconds since the demo started. */
  t: number;
  step: string;
  /** The weight canary-promote has set, in percent. */
  weight: number;
  /** The canary's 5xx rate, in percent. */
  errorRate: number;
  p99Ms: number;
  /** The stable version's share of the requests, in percent. */
  stableShare: number;
}

export class Progress {
  readonly samples: Sample[] = [];
  private lastPlain = '';
  private lineOpen = false;
  private current = '';

  constructor(
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly started = Date.now(),
  ) {}

  get tty(): boolean {
    return this.out.isTTY === true;
  }

  seconds(): number {
    return (Date.now() - this.started) / 1000;
  }

  /**
   * A line of its own. On a terminal the updating line is cleared, the text written above it and the
   * updating line drawn again, so it stays the last line.
   */
  log(text: string): void {
    if (this.lineOpen) this.out.write('\r\x1b[2K');
    this.out.write(`${text}\n`);
    if (this.lineOpen) this.draw();
  }

  /** What runs now (the updating line on a terminal; nothing is printed elsewhere: the log says it). */
  status(text: string): void {
    this.current = text;
    if (this.tty) this.draw();
  }

  sample(sample: Omit<Sample, 't'>): void {
    const full = { t: this.seconds(), ...sample };
    this.samples.push(full);
    const text = `${sample.step} · weight ${sample.weight.toFixed(0)}% · errors ${sample.errorRate.toFixed(2)}% · p99 ${sample.p99Ms} ms · stable serves ${sample.stableShare.toFixed(0)}%`;
    if (this.tty) {
      this.status(text);
      return;
    }
    // Not a terminal: a line when the weight moves by a step, not one per sample.
    const key = `${sample.step}/${sample.weight}`;
    if (key !== this.lastPlain) {
      this.lastPlain = key;
      this.out.write(`   ${full.t.toFixed(1).padStart(5)}s ${text}\n`);
    }
  }

  private draw(): void {
    const line = `▶ ${this.seconds().toFixed(1).padStart(5)}s ${this.current}`;
    const width = this.out.columns ?? 120;
    this.out.write(`\r\x1b[2K${line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line}`);
    this.lineOpen = true;
  }

  /** Leaves the updating line (cleared), e.g. before the chart and the table. */
  endLine(): void {
    if (this.lineOpen) this.out.write('\r\x1b[2K');
    this.lineOpen = false;
  }
}

const WIDTH = 60;

/**
 * Weight and error rate over time, one column per time slice: `█` weight (0–100 %, 10 rows), and a
 * row of error-rate marks under it (· under 1 %, ▲ over the runbook's 1 %).
 */
export function chart(samples: readonly Sample[], title: string, limitPercent = 1): string {
  if (samples.length === 0) return `${title}: no samples`;
  const from = samples[0]!.t;
  const to = samples.at(-1)!.t;
  const span = Math.max(to - from, 0.001);
  const columns: (Sample | undefined)[] = Array.from({ length: WIDTH }, () => undefined);
  for (const s of samples) {
    const at = Math.min(WIDTH - 1, Math.floor(((s.t - from) / span) * WIDTH));
    const seen = columns[at];
    // A column keeps the worst error rate that fell into it (a spike is not averaged away).
    if (!seen || s.errorRate > seen.errorRate || s.weight > seen.weight) columns[at] = s;
  }
  for (let i = 1; i < WIDTH; i++) columns[i] ??= columns[i - 1];
  const lines = [title];
  for (let row = 10; row >= 1; row--) {
    const label = row % 5 === 0 ? `${row * 10}%`.padStart(4) : '    ';
    lines.push(`${label} │${columns.map((c) => ((c?.weight ?? 0) >= row * 10 - 5 ? '█' : ' ')).join('')}`);
  }
  lines.push(`     └${'─'.repeat(WIDTH)}`);
  lines.push(`  err │${columns.map((c) => (c === undefined ? ' ' : c.errorRate > limitPercent ? '▲' : '·')).join('')}`);
  const worst = Math.max(...samples.map((s) => s.errorRate));
  lines.push(
    `      ${from.toFixed(0)}s${' '.repeat(WIDTH - 8)}${to.toFixed(0)}s`,
    `      █ canary weight (as canary-promote set it)   ▲ error rate over ${limitPercent}% · under it (worst ${worst.toFixed(2)}%)`,
  );
  return lines.join('\n');
}
