/**
 * @module reporting/types
 * The reporter slot: where confirmed items are reported (NCMEC's CyberTipline, the UK NCA...).
 * A reporter turns confirmed review items into a report record (store `reports`), either sent
 * to a remote API as a durable state machine (`remote`: the CyberTipline) or exported for a
 * portal (`export`: the NCA, which publishes no API; a plugin can add a remote NCA reporter
 * once one exists). The registry needs only a unique name; `ward report <name> ...`.
 */
import type { ReportRecord, ServiceStore } from '../store/service.js';

export interface ReporterContext {
  store: ServiceStore;
  /** The actor in audit records: `cli`, `key:<id>`. */
  actor: string;
  now?: () => Date;
}

export interface Reporter {
  /** Stable: `ward report <name> ...`, `reports.reporter` in the store. */
  readonly name: string;
  readonly description?: string;
  /** remote: submitted to an API; export: written for a portal (and the reference recorded). */
  readonly kind?: 'remote' | 'export';
  /** Retention of the report's contents and evidence from the report (days). */
  readonly retentionDays?: number;
  /** Creates the report record for confirmed review items (no remote call). */
  create?(ctx: ReporterContext, reviewIds: readonly number[], request: Record<string, unknown>): Promise<ReportRecord>;
}
