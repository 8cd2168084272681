/**
 * @module reporting/types
 * The reporter slot: where confirmed items are reported (NCMEC's CyberTipline, the UK NCA...).
 * The reporting issue defines building and submitting; the registry needs only a unique name.
 */
export interface Reporter {
  /** Stable: `ward report <name> ...`. */
  readonly name: string;
  readonly description?: string;
}
