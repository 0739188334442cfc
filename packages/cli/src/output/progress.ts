import type { Out } from '../io.js';
import { bytes } from './format.js';

/**
 * A one-line progress bar on stderr, redrawn at most ten times a second; silent when stderr is
 * not a terminal (scripts and CI get clean output).
 */
export class ProgressBar {
  private last = 0;
  private readonly started = Date.now();
  private drawn = false;
  private lastLabel = '';
  private lastTotal = 0;

  constructor(
    private readonly out: Out,
    private readonly enabled = Boolean(out.isTTY),
  ) {}

  update(label: string, done: number, total: number, force = false): void {
    if (!this.enabled) return;
    this.lastLabel = label;
    this.lastTotal = total;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    this.out.write(`\r${render(label, done, total, (now - this.started) / 1000, Math.max(40, (this.out.columns ?? 80) - 1))}`);
    this.drawn = true;
  }

  /** Draws the finished state and ends the line. */
  done(): void {
    if (this.drawn) this.update(this.lastLabel, this.lastTotal, this.lastTotal, true);
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}

export function render(label: string, done: number, total: number, seconds: number, width = 80): string {
  const pct = total > 0 ? Math.min(1, done / total) : 1;
  const rate = seconds > 0 ? done / seconds : 0;
  const tail = ` ${(pct * 100).toFixed(0).padStart(3)}% ${bytes(done)}/${bytes(total)} ${bytes(rate)}/s`;
  const barWidth = Math.max(10, width - label.length - tail.length - 3);
  const filled = Math.round(pct * barWidth);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]${tail}`;
}
