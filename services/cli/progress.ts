/**
 * The import progress bar on stderr. On a terminal it redraws one line (`\r`); elsewhere (a
 * log file, CI) it writes a line per update, at most every `intervalMs`, and always the last.
 */
export interface ProgressStream {
  write(s: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;
  private readonly started = Date.now();

  constructor(
    private readonly out: ProgressStream,
    private readonly total: number,
    private readonly unit: string,
    private readonly intervalMs = 1_000,
  ) {}

  update(done: number, note = ''): void {
    const now = Date.now();
    const final = done >= this.total;
    if (!final && !this.out.isTTY && now - this.lastDraw < this.intervalMs) return;
    if (!final && this.out.isTTY && now - this.lastDraw < 50) return;
    this.lastDraw = now;
    const line = this.render(done, note, now);
    if (this.out.isTTY) {
      this.out.write(`\r${line}\x1b[K`);
      this.drawn = true;
      if (final) this.finish();
    } else {
      this.out.write(`${line}\n`);
    }
  }

  private render(done: number, note: string, now: number): string {
    const ratio = this.total === 0 ? 1 : Math.min(1, done / this.total);
    const width = 30;
    const full = Math.round(ratio * width);
    const secs = (now - this.started) / 1000;
    const rate = secs > 0 ? Math.round(done / secs) : 0;
    const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
    return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${pct} ${done}/${this.total} ${this.unit}${rate > 0 ? `, ${rate}/s` : ''}${note ? `, ${note}` : ''}`;
  }

  /** Ends the redrawn line so that what follows starts on a new one. */
  finish(): void {
    if (this.drawn && this.out.isTTY) this.out.write('\n');
    this.drawn = false;
  }
}
