/**
 * @module server/webhooks
 * Webhooks on `match`, `flag` and `decision`: each event is written to the delivery log, then
 * POSTed to the hook's URL with `Ward-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
 * "<t>.<body>")>`, `Ward-Delivery: <id>` and `Ward-Event`. A failed attempt (network error,
 * timeout, non-2xx) is retried with exponential backoff (5 s, 10 s, 20 s… capped at 1 h) up to
 * 8 attempts, then marked failed. Receivers verify with `verifyWebhook` (signature, age, replay).
 *
 * Off the request path (issue 14): `emit` only queues the event in memory; a flush writes the
 * queue to the delivery log in one pass (next tick, or at once on `flush`) and the delivery loop
 * sends it through the one egress point (net/egress: no private or loopback targets unless
 * allow-listed, no redirects, capped responses). Secrets sealed with WARD_SECRET_KEY are opened
 * only to sign. A process that dies before a flush loses the events queued in that tick.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { WardError } from '../errors.js';
import { egressFetch } from '../net/egress.js';
import { isSealed, openSecret } from '../secrets/index.js';
import type { DeliveryRecord, ServiceStore, WebhookEvent, WebhookRecord } from '../store/service.js';

export const SIGNATURE_HEADER = 'ward-signature';
export const DELIVERY_HEADER = 'ward-delivery';
export const EVENT_HEADER = 'ward-event';
/** Signatures older (or newer) than this are refused by verifyWebhook by default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signWebhook(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/** Delivery ids seen within the tolerance window (for replay detection). */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  /** True if the id was new (and is now remembered until `expires`). */
  remember(id: string, expires: number, now: number): boolean {
    if (this.seen.size > 1000) for (const [k, t] of this.seen) if (t < now) this.seen.delete(k);
    const t = this.seen.get(id);
    if (t !== undefined && t >= now) return false;
    this.seen.set(id, expires);
    return true;
  }
}

export interface VerifyWebhookOptions {
  secret: string;
  /** The raw request body, exactly as received. */
  body: string | Buffer;
  /** The Ward-Signature header. */
  signature: string | undefined;
  /** The Ward-Delivery header; with `replays`, a repeated id is refused. */
  deliveryId?: string;
  replays?: ReplayCache;
  toleranceSeconds?: number;
  now?: number;
}

/**
 * Verifies a webhook a Ward service sent: the HMAC over the timestamp and the raw body, the
 * timestamp within `toleranceSeconds` (default 300) of now, and (with a ReplayCache) a delivery
 * id not seen before. Throws WARD_ERR_WEBHOOK_SIGNATURE or WARD_ERR_WEBHOOK_REPLAY.
 */
export function verifyWebhook(options: VerifyWebhookOptions): void {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const bad = (why: string) => new WardError('WARD_ERR_WEBHOOK_SIGNATURE', `Webhook signature refused: ${why}`);
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(options.signature?.trim() ?? '');
  if (!m) throw bad('missing or malformed Ward-Signature header');
  const t = Number(m[1]);
  if (Math.abs(now - t) > tolerance) throw bad(`timestamp is more than ${tolerance} s from now`);
  const body = typeof options.body === 'string' ? options.body : options.body.toString('utf8');
  const expected = createHmac('sha256', options.secret).update(`${t}.${body}`).digest();
  if (!timingSafeEqual(expected, Buffer.from(m[2] as string, 'hex'))) throw bad('the signature does not match');
  if (options.replays) {
    if (!options.deliveryId) throw bad('missing Ward-Delivery header');
    if (!options.replays.remember(options.deliveryId, now + tolerance, now)) {
      throw new WardError('WARD_ERR_WEBHOOK_REPLAY', 'This webhook delivery was received before (a replay)');
    }
  }
}

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

const MAX_ATTEMPTS = 8;
const BASE_BACKOFF_MS = 5000;
const MAX_BACKOFF_MS = 3_600_000;

export interface DispatcherOptions {
  /** How often due deliveries are looked for (ms). */
  pollMs?: number;
  /** Timeout of one attempt (ms). */
  timeoutMs?: number;
  /** Backoff of the first retry (ms); doubles per attempt. */
  baseBackoffMs?: number;
  maxAttempts?: number;
  onError?: (e: unknown) => void;
}

/** Writes events to the delivery log and delivers them in the background. */
export class WebhookDispatcher {
  private hooks: WebhookRecord[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  delivered = 0;
  failed = 0;

  constructor(
    private readonly store: ServiceStore,
    private readonly options: DispatcherOptions = {},
  ) {}

  /** Forgets the cached hook list (after a hook is added or removed). */
  invalidate(): void {
    this.hooks = undefined;
  }

  private async activeHooks(): Promise<WebhookRecord[]> {
    this.hooks ??= await this.store.listWebhooks();
    return this.hooks;
  }

  private queue: DeliveryRecord[] = [];
  private flushing: Promise<void> | undefined;
  private flushTimer: NodeJS.Immediate | undefined;

  /**
   * Queues one delivery per hook subscribed to `event` (in memory: the request does no write);
   * the queue is written to the delivery log in batches, and delivery follows in the background.
   */
  async emit(event: WebhookEvent, data: unknown): Promise<number> {
    const hooks = (await this.activeHooks()).filter((h) => h.events.includes(event));
    if (hooks.length === 0) return 0;
    const now = new Date().toISOString();
    for (const h of hooks) {
      const id = randomUUID();
      this.queue.push({
        id,
        webhookId: h.id,
        event,
        payload: JSON.stringify({ id, event, createdAt: now, data }),
        status: 'pending',
        attempts: 0,
        nextAttemptAt: now,
        lastStatus: null,
        lastError: null,
        createdAt: now,
        deliveredAt: null,
      });
    }
    this.flushTimer ??= setImmediate(() => {
      this.flushTimer = undefined;
      void this.flush().catch((e) => this.options.onError?.(e));
    });
    return hooks.length;
  }

  /** Writes the queued events to the delivery log now (before reading the log, and at stop). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.flushing = (async () => {
      if (this.store.enqueueDeliveries) await this.store.enqueueDeliveries(batch);
      else for (const d of batch) await this.store.enqueueDelivery(d);
    })().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
    this.kick();
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.kick(), this.options.pollMs ?? 1000);
    this.timer.unref();
  }

  /** Looks for due deliveries now. */
  kick(): void {
    if (this.stopped || this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.running = this.pass()
      .catch((e) => this.options.onError?.(e))
      .finally(() => {
        this.running = undefined;
        this.schedule();
      });
  }

  private async pass(): Promise<void> {
    const hooks = new Map((await this.store.listWebhooks()).map((h) => [h.id, h]));
    const now = new Date();
    const due = await this.store.dueDeliveries(now.toISOString(), 20);
    for (const d of due) {
      const timeout = this.options.timeoutMs ?? 10_000;
      // Lease the delivery past its attempt, so another process does not send it too.
      const lease = new Date(now.getTime() + timeout + 5000).toISOString();
      if (!(await this.store.claimDelivery(d.id, d.nextAttemptAt, lease))) continue;
      const hook = hooks.get(d.webhookId);
      const p = this.attempt(d, hook, timeout).catch((e) => this.options.onError?.(e));
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }

  private async attempt(d: DeliveryRecord, hook: WebhookRecord | undefined, timeoutMs: number): Promise<void> {
    const attempts = d.attempts + 1;
    if (!hook) {
      await this.store.updateDelivery(d.id, { status: 'failed', attempts, lastError: 'webhook deleted' });
      return;
    }
    let status: number | null = null;
    let error: string | null = null;
    try {
      const secret = isSealed(hook.secret) ? openSecret(hook.secret) : hook.secret;
      const res = await egressFetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'ward-webhooks/1',
          [SIGNATURE_HEADER]: signWebhook(secret, d.payload),
          [DELIVERY_HEADER]: d.id,
          [EVENT_HEADER]: d.event,
        },
        body: d.payload,
        timeoutMs,
        maxResponseBytes: 4096,
      });
      status = res.status;
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (e) {
      // One message per kind: a refused port, a reset and a timeout look the same (no port scans).
      const code = (e as { code?: string }).code;
      error =
        code === 'WARD_ERR_EGRESS_REFUSED'
          ? 'refused by the egress rules'
          : code === 'WARD_ERR_SECRET_KEY'
            ? 'the webhook secret cannot be opened (WARD_SECRET_KEY)'
            : 'the destination could not be reached';
    }
    if (error === null) {
      this.delivered++;
      await this.store.updateDelivery(d.id, {
        status: 'delivered',
        attempts,
        lastStatus: status,
        lastError: null,
        deliveredAt: new Date().toISOString(),
      });
      return;
    }
    const max = this.options.maxAttempts ?? MAX_ATTEMPTS;
    if (attempts >= max) this.failed++;
    const backoff = Math.min(MAX_BACKOFF_MS, (this.options.baseBackoffMs ?? BASE_BACKOFF_MS) * 2 ** (attempts - 1));
    await this.store.updateDelivery(d.id, {
      status: attempts >= max ? 'failed' : 'pending',
      attempts,
      lastStatus: status,
      lastError: error.slice(0, 500),
      nextAttemptAt: new Date(Date.now() + backoff).toISOString(),
    });
  }

  /** Stops polling and waits for attempts in flight. */
  async stop(): Promise<void> {
    if (this.flushTimer) clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    await this.flush().catch((e) => this.options.onError?.(e));
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await Promise.all(this.inFlight);
  }
}
