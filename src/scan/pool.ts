/**
 * @module scan/pool
 * A pool of worker threads running one task function, with at most two tasks in flight per
 * worker (one running, one waiting, so no worker idles on a round trip). Results come back as
 * promises; callers keep their own order. `jobs = 1` runs the same function in this thread.
 */
import { Worker } from 'node:worker_threads';
import { WardError } from '../errors.js';

export interface TaskRunner<T, R> {
  run(task: T, transfer?: ArrayBuffer[]): Promise<R>;
  close(): Promise<void>;
}

interface Pending<R> {
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/** Runs tasks in this thread, two at a time (so reading the next overlaps computing this one). */
export class InProcessRunner<T, R> implements TaskRunner<T, R> {
  constructor(private readonly fn: (task: T) => Promise<R>) {}
  run(task: T): Promise<R> {
    return this.fn(task);
  }
  async close(): Promise<void> {}
}

/**
 * Worker threads loading `script`, which must call `serveTasks(fn)` from scan/pool-worker.ts.
 * A worker that dies fails every task it held and the pool: that is a bug, not bad input.
 */
export class WorkerPool<T, R> implements TaskRunner<T, R> {
  private readonly workers: { worker: Worker; inFlight: Map<number, Pending<R>> }[] = [];
  private readonly queue: { id: number; task: T; transfer?: ArrayBuffer[]; pending: Pending<R> }[] = [];
  private nextId = 0;
  private failure: unknown;

  constructor(script: string | URL, workerData: unknown, size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(script, { workerData });
      const slot = { worker, inFlight: new Map<number, Pending<R>>() };
      worker.on('message', (msg: { id: number; result?: R; error?: { message: string } }) => {
        const p = slot.inFlight.get(msg.id);
        slot.inFlight.delete(msg.id);
        if (msg.error) p?.reject(new WardError('WARD_ERR_INTERNAL', `A worker task failed: ${msg.error.message}`));
        else p?.resolve(msg.result as R);
        this.pump();
      });
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (code !== 0 && !this.closing) this.fail(new Error(`worker exited with code ${code}`));
      });
      this.workers.push(slot);
    }
  }

  private closing = false;

  /** How many worker threads. */
  get size(): number {
    return this.workers.length;
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    const e = new WardError('WARD_ERR_INTERNAL', 'A scan worker failed (this is a bug, please report it)', {}, err);
    for (const w of this.workers) {
      for (const p of w.inFlight.values()) p.reject(e);
      w.inFlight.clear();
    }
    for (const q of this.queue.splice(0)) q.pending.reject(e);
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let best: (typeof this.workers)[number] | undefined;
      for (const w of this.workers)
        if (w.inFlight.size < 2 && (!best || w.inFlight.size < best.inFlight.size)) best = w;
      if (!best) return;
      const q = this.queue.shift() as (typeof this.queue)[number];
      best.inFlight.set(q.id, q.pending);
      best.worker.postMessage({ id: q.id, task: q.task }, q.transfer ?? []);
    }
  }

  run(task: T, transfer?: ArrayBuffer[]): Promise<R> {
    if (this.failure)
      return Promise.reject(new WardError('WARD_ERR_INTERNAL', 'The worker pool has failed', {}, this.failure));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, transfer, pending: { resolve, reject } });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
