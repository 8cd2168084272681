/**
 * @module cli/progress
 * A one-line progress bar for terminals: items/s, ETA (once the inputs have been counted), and
 * counts per verdict. Only ever drawn on a TTY; redrawn at most ten times a second.
 */
import type { Writable } from 'node:stream';

export class ProgressBar {
  private done = 0;
  private total: number | undefined;
  private readonly counts = new Map<string, number>();
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly out: Writable,
    private readonly columns = 100,
  ) {}

  /** Sets the expected number of items (top-level files; archive entries come on top). */
  setTotal(total: number): void {
    this.total = total;
  }

  tick(verdict: string): void {
    this.done++;
    this.counts.set(verdict, (this.counts.get(verdict) ?? 0) + 1);
    const now = Date.now();
    if (now - this.lastDraw >= 100) {
      this.lastDraw = now;
      this.draw(now);
    }
  }

  private draw(now: number): void {
    const secs = (now - this.started) / 1000;
    const rate = secs > 0 ? this.done / secs : 0;
    const parts = [
      `${this.done}${this.total ? `/${Math.max(this.total, this.done)}` : ''} items`,
      `${rate.toFixed(1)}/s`,
    ];
    if (this.total && rate > 0) {
      const left = Math.max(0, this.total - this.done) / rate;
      parts.push(`ETA ${formatDuration(left)}`);
    }
    for (const v of ['match', 'flag', 'clean', 'skipped', 'error']) {
      const n = this.counts.get(v);
      if (n) parts.push(`${v} ${n}`);
    }
    let bar = '';
    if (this.total) {
      const width = 20;
      const filled = Math.min(width, Math.round((this.done / Math.max(this.total, this.done)) * width));
      bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] `;
    }
    const line = `${bar}${parts.join('  ')}`.slice(0, Math.max(20, this.columns - 1));
    this.out.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }

  /** Erases the bar so the summary starts on a clean line. */
  clear(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}
