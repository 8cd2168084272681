/**
 * @module server/review
 * The review workflow, apart from HTTP: queueing flagged items (with their evidence, audit
 * record and `flag` webhook), decisions (confirm into a block bank, dismiss into a negative bank,
 * escalate), and the entries a decision adds: every signal of the item that the registry knows
 * (PDQ only when strong enough).
 */
import type { ParsedEntry } from '../banks/types.js';
import { WardError } from '../errors.js';
import type { MatchHit } from '../match/matcher.js';
import { activeRegistry } from '../registry.js';
import type { ItemReport } from '../scan/types.js';
import { matchingOf } from '../signals/types.js';
import type { ReviewDecision, ReviewItem, ReviewStatus } from '../store/service.js';
import type { Actor, ServerContext } from './context.js';

export const MEDIA_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  tiff: 'image/tiff',
  avif: 'image/avif',
  heif: 'image/heif',
};

export function hitSummary(m: MatchHit) {
  return {
    bank: m.bank,
    signal: m.signal,
    value: m.value,
    distance: m.distance,
    labels: m.labels,
    // A hash-exchange entry: which collaboration and the exchange's own id (NCMEC member/id).
    ...(m.exchange ? { exchange: m.exchange } : {}),
  };
}

/** A review item as the API shows it: `evidence.available` instead of the evidence id. */
export function publicReview(item: ReviewItem, evidenceEnabled: boolean) {
  return {
    ...item,
    evidence: item.evidenceId
      ? { available: true }
      : {
          available: false,
          reason: evidenceEnabled
            ? 'No copy was kept of this item'
            : 'The evidence store is disabled: Ward keeps no copy of uploads',
        },
    evidenceId: undefined,
  };
}

export const REDACTED = '[redacted: needs the child-safety data permission]';
const SENSITIVE_KEYS = new Set(['prompt', 'negativePrompt', 'text', 'excerpt']);

/** A copy of `value` with every prompt (and screened text) string replaced by REDACTED. */
function redactDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactDeep);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SENSITIVE_KEYS.has(k) && typeof v === 'string' ? REDACTED : redactDeep(v);
  }
  return out;
}

/**
 * A review item as a key may see it: without the child-safety data permission, the prompts and
 * screened texts in its findings are redacted (`redacted: true`) and its evidence is not offered.
 */
export function reviewFor(
  item: ReviewItem,
  evidenceEnabled: boolean,
  principal: { childSafety: boolean } | undefined,
): ReturnType<typeof publicReview> & { redacted: boolean } {
  const shown = publicReview(item, evidenceEnabled);
  if (principal?.childSafety) return { ...shown, redacted: false };
  return {
    ...shown,
    report: redactDeep(shown.report) as typeof shown.report,
    evidence: shown.evidence.available
      ? { available: false, reason: 'A copy is kept, but viewing it needs the child-safety data permission' }
      : shown.evidence,
    redacted: true,
  };
}

/** Throws WARD_ERR_FORBIDDEN unless the request's key holds the child-safety data permission. */
export function requireChildSafety(principal: { childSafety: boolean } | undefined): void {
  if (!principal?.childSafety) {
    throw new WardError(
      'WARD_ERR_FORBIDDEN',
      'Evidence media needs the child-safety data permission (ward keys create --child-safety)',
      { permission: 'child-safety' },
    );
  }
}

export async function getReview(ctx: ServerContext, id: number): Promise<ReviewItem> {
  const item = await ctx.store.getReview(id);
  if (!item) throw new WardError('WARD_ERR_NOT_FOUND', `No review item ${id}`);
  return item;
}

/**
 * The entries a confirmed or dismissed item adds to a bank: every signal of its report whose
 * type the registry knows (distance types first, then exact ones, in registration order), PDQ
 * only when its quality is at least `minQuality`. Values a type does not parse are left out.
 */
export function entriesOf(report: ItemReport, labels: string[], minQuality: number, reviewId: number): ParsedEntry[] {
  const out: ParsedEntry[] = [];
  const s = report.signals as Record<string, unknown>;
  const types = activeRegistry().signalTypes();
  const ordered = [
    ...types.filter((t) => matchingOf(t) === 'distance'),
    ...types.filter((t) => matchingOf(t) !== 'distance'),
  ];
  for (const type of ordered) {
    const v = s[type.name];
    if (typeof v !== 'string' || v === '') continue;
    if (type.name === 'pdq' && typeof s.quality === 'number' && s.quality < minQuality) continue;
    let value: string;
    try {
      value = type.parse(v);
    } catch {
      continue;
    }
    out.push({ signal: type.name, value, labels, sourceId: `review-${reviewId}`, line: 1 });
  }
  return out;
}

async function* iter<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

/** Puts one scanned item in the review queue: evidence (when kept), audit record, `flag` webhook. */
export async function queueItem(
  ctx: ServerContext,
  actor: Actor,
  name: string,
  r: ItemReport,
  bytes: Uint8Array | undefined,
): Promise<ReviewItem> {
  const evidenceId =
    ctx.evidence && bytes
      ? await ctx.evidence.put(bytes, MEDIA_TYPES[r.format ?? ''] ?? 'application/octet-stream')
      : null;
  const item = await ctx.store.insertReview({
    createdAt: new Date().toISOString(),
    status: 'open',
    verdict: r.verdict,
    score: r.score ?? null,
    source: 'scan',
    submittedBy: actor.principal?.keyId ?? null,
    name,
    contentType: r.contentType,
    report: r,
    evidenceId,
  });
  ctx.metrics.queued.inc();
  await ctx.audit(actor, 'review.queue', `review:${item.id}`, {
    verdict: r.verdict,
    score: r.score ?? null,
    reasons: r.reasons.map((x) => x.rule),
    evidence: evidenceId !== null,
  });
  await ctx.webhooks.emit('flag', {
    reviewId: item.id,
    verdict: r.verdict,
    score: r.score ?? null,
    contentType: r.contentType,
    reasons: r.reasons,
    signals: r.signals,
    matches: r.matches.map(hitSummary),
  });
  return item;
}

export interface DecisionRequest {
  action: ReviewDecision['action'];
  bank?: string;
  labels?: string[];
  note?: string;
}

/**
 * Decides a review item. confirm adds its signals to a block bank, dismiss optionally to a
 * negative bank, escalate keeps it queued; a decided item cannot be decided again (409).
 */
export async function decideReview(
  ctx: ServerContext,
  actor: Actor,
  id: number,
  body: DecisionRequest,
): Promise<ReviewItem> {
  const { store, config } = ctx;
  const item = await getReview(ctx, id);
  const from: ReviewStatus[] = body.action === 'escalate' ? ['open'] : ['open', 'escalated'];
  if (!from.includes(item.status)) {
    throw new WardError('WARD_ERR_CONFLICT', `Review item ${id} is already ${item.status}`);
  }
  const decision: ReviewDecision = {
    action: body.action,
    ...(body.note ? { note: body.note } : {}),
  };
  if (body.action === 'confirm' && !body.bank) {
    throw new WardError('WARD_ERR_REQUEST_INVALID', 'confirm needs "bank": the block bank to add the item to');
  }
  if (body.action === 'escalate' && body.bank) {
    throw new WardError('WARD_ERR_REQUEST_INVALID', 'escalate takes no bank');
  }
  if (body.bank) {
    const bank = await store.getBank(body.bank);
    if (!bank) throw new WardError('WARD_ERR_BANK_NOT_FOUND', `No bank named ${JSON.stringify(body.bank)}`);
    const want = body.action === 'confirm' ? 'block' : 'negative';
    if (bank.kind !== want) {
      throw new WardError('WARD_ERR_CONFLICT', `${body.action} adds to a ${want} bank; ${bank.name} is ${bank.kind}`);
    }
    const labels = [...new Set(body.labels ?? [])].sort();
    const entries = entriesOf(item.report, labels, config.match.minQuality, id);
    if (entries.length > 0) {
      await store.importEntries(bank.name, iter(entries), { source: 'review' });
      await ctx.banksChanged();
    }
    decision.bank = bank.name;
    decision.added = entries.map((e) => e.signal);
    if (labels.length > 0) decision.labels = labels;
  }
  const status: ReviewStatus =
    body.action === 'confirm' ? 'confirmed' : body.action === 'dismiss' ? 'dismissed' : 'escalated';
  const by = `key:${actor.principal?.keyId}`;
  if (!(await store.decideReview(id, status, decision, by, new Date().toISOString(), from))) {
    throw new WardError('WARD_ERR_CONFLICT', `Review item ${id} was decided by someone else meanwhile`);
  }
  ctx.metrics.decisions.inc({ action: body.action });
  await ctx.audit(actor, 'review.decision', `review:${id}`, { ...decision });
  await ctx.webhooks.emit('decision', {
    reviewId: id,
    action: body.action,
    status,
    ...(decision.bank ? { bank: decision.bank, added: decision.added } : {}),
    signals: item.report.signals,
    by,
  });
  return getReview(ctx, id);
}
