import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { formatDuration, ProgressBar } from './progress.js';

function sink(): { out: Writable; text: () => string } {
  let text = '';
  const out = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return { out, text: () => text };
}

describe('ProgressBar', () => {
  it('draws items, rate, ETA and verdict counts, at most ten times a second, and clears itself', () => {
    vi.useFakeTimers();
    try {
      const s = sink();
      const bar = new ProgressBar(s.out, 120);
      bar.setTotal(10);
      vi.advanceTimersByTime(1000);
      bar.tick('match');
      const first = s.text();
      expect(first).toBe('\r\x1b[2K[##..................] 1/10 items  1.0/s  ETA 9s  match 1');
      bar.tick('clean'); // within 100 ms: not redrawn
      expect(s.text()).toBe(first);
      vi.advanceTimersByTime(150);
      bar.tick('clean');
      expect(s.text().slice(first.length)).toMatch(/3\/10 items .* match 1 {2}clean 2$/);
      bar.clear();
      expect(s.text().endsWith('\r\x1b[2K')).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('formats durations', () => {
    expect(formatDuration(5.4)).toBe('5s');
    expect(formatDuration(125)).toBe('2m05s');
    expect(formatDuration(3 * 3600 + 7 * 60)).toBe('3h07m');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('?');
  });
});
