/**
 * Progress on stderr while a case runs: iterations done, elapsed time and an estimate of the time left
 * for the case. On a terminal one line is rewritten in place; otherwise (a log file, CI) a line is
 * printed at most every 10 s, so long cases still show they are alive without flooding the log.
 */
const LOG_INTERVAL_MS = 10_000;

export interface Progress {
  /** Call once per finished iteration (warm-up included). */
  tick(): void;
  /** Clears the in-place line (the caller then prints the case's result). */
  done(): void;
}

export function startProgress(name: string, total: number): Progress {
  const tty = process.stderr.isTTY === true;
  const start = Date.now();
  let done = 0;
  let lastPrint = start;
  const line = (): string => {
    const elapsed = (Date.now() - start) / 1000;
    const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
    return `    ${name}: ${done}/${total} calls, ${formatSeconds(elapsed)} elapsed` +
      (Number.isFinite(eta) && done < total ? `, about ${formatSeconds(eta)} left` : '');
  };
  return {
    tick() {
      done++;
      const now = Date.now();
      if (tty) process.stderr.write(`\r\x1b[K${line()}`);
      else if (now - lastPrint >= LOG_INTERVAL_MS && done < total) {
        process.stderr.write(line() + '\n');
        lastPrint = now;
      }
    },
    done() {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - 60 * m)} s`;
}
