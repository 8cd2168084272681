/**
 * @module cli/exit-codes
 * Exit statuses of the `ward` command (a contract: scripts branch on them).
 */
export const EXIT = {
  /** Everything processed, nothing to report. */
  OK: 0,
  /** Something matched or was flagged (used by `ward scan`). */
  FOUND: 1,
  /** Some inputs failed (unreadable, undecodable, over a limit); the others were processed. */
  ITEM_ERRORS: 2,
  /** The command line or a configuration value is invalid; nothing was processed. */
  USAGE: 3,
  /** A required native dependency (sharp, the WebAssembly kernel) is missing. */
  DEPENDENCY: 4,
  /** A bug in Ward. */
  INTERNAL: 70,
  /** Interrupted (SIGINT). */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
