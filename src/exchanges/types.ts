/**
 * @module exchanges/types
 * The exchange slot: connectors that fill banks from hash-sharing programmes (NCMEC, StopNCII,
 * ThreatExchange, HMA...) or answer hash-only lookups. The exchanges issue defines the fetch and
 * checkpoint contract; the registry needs only a unique name and a kind.
 */
export interface ExchangeConnector {
  /** Stable: the `--type` of `ward exchange add`. */
  readonly name: string;
  /** `fetch`: synced into a bank; `lookup`: consulted at match time without sending media. */
  readonly kind: 'fetch' | 'lookup';
  readonly description?: string;
}
