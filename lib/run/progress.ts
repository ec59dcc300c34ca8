/**
 * A progress line on stderr: counts, rate and ETA. On a terminal it redraws one line (at most every
 * 100 ms); elsewhere (a log file, CI) it prints a line at most every 5 s and at the end.
 * ETA = remaining items / (items finished in this run / seconds elapsed).
 */
export interface ProgressCounts {
  [name: string]: number;
}

export class ProgressBar {
  private finished = 0;
  private last = 0;
  private readonly startedAt = Date.now();
  private readonly tty: boolean;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** One item finished; `counts` are shown after the bar. */
  tick(counts: ProgressCounts): void {
    this.finished++;
    this.draw(counts, this.finished === this.total);
  }

  /** Writes a message above the bar. */
  note(message: string): void {
    this.stream.write((this.tty ? '\r\x1b[K' : '') + message + '\n');
  }

  /** The final line (unless the last tick already drew it on a non-terminal). */
  done(counts: ProgressCounts): void {
    if (this.tty || this.finished !== this.total || this.last === 0) this.draw(counts, true);
    if (this.tty) this.stream.write('\n');
  }

  line(counts: ProgressCounts): string {
    const width = 24;
    const fraction = this.total ? this.finished / this.total : 1;
    const filled = Math.round(fraction * width);
    const seconds = (Date.now() - this.startedAt) / 1000;
    const rate = seconds > 0 ? this.finished / seconds : 0;
    const remaining = this.total - this.finished;
    const eta = remaining === 0 ? 0 : rate > 0 ? remaining / rate : NaN;
    const extra = Object.entries(counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(' ');
    return `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.finished}/${this.total} ${extra} | ${rate.toFixed(2)}/s ETA ${formatDuration(eta)}`;
  }

  private draw(counts: ProgressCounts, force: boolean): void {
    const now = Date.now();
    if (!force && now - this.last < (this.tty ? 100 : 5000)) return;
    this.last = now;
    this.stream.write(this.tty ? '\r\x1b[K' + this.line(counts) : this.line(counts) + '\n');
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return (h ? `${h}:${String(m).padStart(2, '0')}` : `${m}`) + `:${String(r).padStart(2, '0')}`;
}

/**
 * Progress as messages for a callback (library callers, `ipo eval`, `ipo csr`): returns a tick that
 * counts one item done and reports at most once a second, and always the last item.
 */
export function progressReporter(total: number, describe: (done: number, total: number) => string, onProgress?: (message: string) => void): () => void {
  let done = 0;
  let last = 0;
  return () => {
    done++;
    const now = Date.now();
    if (onProgress && (now - last >= 1000 || done === total)) {
      last = now;
      onProgress(describe(done, total));
    }
  };
}
