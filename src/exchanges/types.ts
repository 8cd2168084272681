/**
 * @module exchanges/types
 * The exchange slot: connectors that fill banks from hash-sharing programmes (NCMEC, StopNCII,
 * ThreatExchange, HMA...) or answer hash-only lookups. A `fetch` connector is a pure reader of
 * the remote: given its collaboration's config, opened credentials and the last checkpoint it
 * committed, it yields pages; the sync engine (src/exchanges/sync.ts) applies each page and its
 * checkpoint in one transaction, so a sync killed at any page resumes with nothing lost or doubled.
 */
import type { EgressInit, EgressResponse } from '../net/egress.js';
import type { Registry } from '../registry.js';

/** One fingerprint of an exchange entry: a Ward signal (md5, pdq...) or an opaque one (`ncmec-pdna`). */
export interface ExchangeSignal {
  signal: string;
  value: string;
}

/**
 * One entry as the exchange gives it. `entryId` is the exchange's own id (NCMEC: `member/id`),
 * stable across updates; an update replaces every fingerprint and label of that id, a delete
 * removes them.
 */
export type ExchangeEntry =
  | {
      entryId: string;
      signals: ExchangeSignal[];
      labels: string[];
      /** When the exchange last changed it (ISO-8601): of two records of one id, the later wins. */
      updated: string;
    }
  | { entryId: string; deleted: string };

export interface ExchangePage {
  entries: ExchangeEntry[];
  /**
   * Opaque, JSON-serialisable; committed with the page. The next fetch starts from it. Undefined:
   * keep the previous one (a page whose position cannot be resumed from on its own).
   */
  checkpoint?: unknown;
  /** True when this page brings the collaboration up to date (the last of a complete pass). */
  upToDate?: boolean;
  /** The page is the whole list (the `file` connector): entries not in it are deleted. */
  complete?: boolean;
}

export interface FetchContext {
  /** The collaboration's settings, as checked by `configure`. */
  config: Record<string, string>;
  /** Opened credentials (never logged). */
  credentials: Record<string, unknown>;
  /** What the last committed page said; undefined on a first (or `--full`) sync. */
  checkpoint: unknown;
  /** The egress-checked fetch every request must use. */
  fetch: (url: string, init?: EgressInit) => Promise<EgressResponse>;
  /** The registry whose signal types parse fingerprints. */
  registry: Registry;
  /** The clock (tests move it). */
  now: () => Date;
  signal?: AbortSignal;
}

export interface ExchangeConnector {
  /** Stable: the `--type` of `ward exchange add`. */
  readonly name: string;
  /** `fetch`: synced into a bank; `lookup`: consulted at match time without sending media. */
  readonly kind: 'fetch' | 'lookup';
  readonly description?: string;
  /** Settings (`--set key=value`, `--endpoint`) this connector knows, with a line on each. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Credential fields it needs (checked at `add`). */
  readonly credentialFields?: readonly string[];
  /** Checks and normalises settings (throw WARD_ERR_CONFIG_INVALID); defaults filled in. */
  configure?(settings: Record<string, string>): Record<string, string>;
  /** Pages from the checkpoint on. Throws WARD_ERR_EXCHANGE_FAILED on a malformed page or a remote error. */
  fetch?(ctx: FetchContext): AsyncIterable<ExchangePage>;
}
