/**
 * @module store/migrations
 * Versioned schema migrations, in SQL that SQLite and PostgreSQL both accept (the PostgreSQL
 * store maps INTEGER PRIMARY KEY AUTOINCREMENT to an identity column and BLOB to BYTEA). Append
 * only: a shipped migration is never edited. Times are ISO-8601 UTC text (they sort as text).
 */

export interface Migration {
  version: number;
  name: string;
  up: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'banks and entries',
    up: [
      `CREATE TABLE banks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('block', 'negative')),
        pdq_distance INTEGER NOT NULL DEFAULT 31 CHECK (pdq_distance BETWEEN 0 AND 256),
        created_at TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 0
      )`,
      // Entry ids are never reused (AUTOINCREMENT): index tombstones and snapshots rely on it.
      `CREATE TABLE entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        bank_id INTEGER NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
        signal TEXT NOT NULL,
        value TEXT NOT NULL,
        labels TEXT NOT NULL DEFAULT '',
        source TEXT,
        source_id TEXT,
        added_at TEXT NOT NULL,
        seen INTEGER NOT NULL DEFAULT 0,
        UNIQUE (bank_id, signal, value)
      )`,
    ],
  },
  {
    version: 2,
    name: 'service: entry removals, API keys, audit log, review queue, evidence, webhooks',
    up: [
      // Entries removed from a bank (by --replace or an entry deletion), so a live index can
      // follow a bank's changes without reloading it: new entries have higher ids, removals are here.
      `CREATE TABLE entry_removals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        bank_id INTEGER NOT NULL,
        entry_id INTEGER NOT NULL,
        signal TEXT NOT NULL,
        value TEXT NOT NULL
      )`,
      'CREATE INDEX entry_removals_bank ON entry_removals (bank_id, id)',
      // Only a hash of each key is kept; `id` is the key's public part.
      `CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'submitter')),
        name TEXT NOT NULL DEFAULT '',
        rate_limit DOUBLE PRECISION,
        burst INTEGER,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      )`,
      // Append only; each record carries the hash of the one before (seq has no gaps).
      `CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        details TEXT NOT NULL DEFAULT '{}',
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      )`,
      `CREATE TABLE review_items (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'escalated', 'confirmed', 'dismissed')),
        verdict TEXT NOT NULL,
        score DOUBLE PRECISION,
        source TEXT NOT NULL,
        submitted_by TEXT,
        name TEXT,
        content_type TEXT NOT NULL,
        report TEXT NOT NULL,
        evidence_id TEXT,
        decided_at TEXT,
        decided_by TEXT,
        decision TEXT
      )`,
      'CREATE INDEX review_items_queue ON review_items (status, id)',
      // Uploads kept for review, encrypted (AES-256-GCM); only when the operator enables it.
      `CREATE TABLE evidence (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        key_id TEXT NOT NULL,
        media_type TEXT,
        size INTEGER NOT NULL,
        nonce BLOB NOT NULL,
        tag BLOB NOT NULL,
        data BLOB NOT NULL
      )`,
      'CREATE INDEX evidence_expiry ON evidence (expires_at)',
      `CREATE TABLE webhooks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        url TEXT NOT NULL,
        events TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_at TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1
      )`,
      `CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        webhook_id INTEGER NOT NULL,
        event TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_status INTEGER,
        last_error TEXT,
        created_at TEXT NOT NULL,
        delivered_at TEXT
      )`,
      'CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)',
    ],
  },
  {
    version: 3,
    name: 'reports: CyberTipline / NCA reports as durable state machines, their files, retention and holds',
    up: [
      // One row per report; state: draft -> submitted (remote_id) -> finished, or retracted;
      // expired reports are re-opened in place (history keeps the old remote ids). inflight
      // names the remote call under way (written before it is made), so a rerun knows what
      // may have happened at the far end.
      `CREATE TABLE reports (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        reporter TEXT NOT NULL,
        items_key TEXT NOT NULL,
        review_ids TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('draft', 'submitted', 'finished', 'retracted', 'exported')),
        inflight TEXT,
        endpoint TEXT NOT NULL DEFAULT '',
        remote_id TEXT,
        content TEXT NOT NULL,
        options TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        opened_at TEXT,
        last_change_at TEXT,
        finished_at TEXT,
        retain_until TEXT NOT NULL,
        legal_hold INTEGER NOT NULL DEFAULT 0,
        history TEXT NOT NULL DEFAULT '[]',
        last_error TEXT,
        external_reference TEXT
      )`,
      // At most one report in progress per reporter and set of review items.
      `CREATE UNIQUE INDEX reports_active ON reports (reporter, items_key) WHERE state IN ('draft', 'submitted')`,
      `CREATE TABLE report_files (
        report_id INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
        review_id INTEGER NOT NULL,
        position INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'uploaded', 'fileinfo')),
        file_id TEXT,
        md5 TEXT,
        details TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (report_id, review_id)
      )`,
      'CREATE INDEX report_files_review ON report_files (review_id)',
      // Reporting settings: the reporter profile (JSON), sealed credentials (src/secrets).
      `CREATE TABLE report_settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
    ],
  },
  {
    version: 4,
    name: 'service: the child-safety data permission of API keys',
    up: [
      // Evidence media, prompts and report contents: only keys holding this see them (issue 14).
      'ALTER TABLE api_keys ADD COLUMN child_safety INTEGER NOT NULL DEFAULT 0',
    ],
  },
  {
    version: 5,
    name: 'hash exchanges: collaborations, their entries and checkpoints',
    up: [
      // One row per collaboration (ward exchange add). credentials: sealed (src/secrets), never plain.
      `CREATE TABLE exchanges (
        name TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        bank TEXT NOT NULL,
        config TEXT NOT NULL DEFAULT '{}',
        credentials TEXT,
        created_at TEXT NOT NULL,
        checkpoint TEXT,
        up_to_date INTEGER NOT NULL DEFAULT 0,
        last_run_at TEXT,
        last_success_at TEXT,
        last_error TEXT,
        fetched INTEGER NOT NULL DEFAULT 0,
        added INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL DEFAULT 0,
        deleted INTEGER NOT NULL DEFAULT 0
      )`,
      // The newest record seen of each exchange entry (a tombstone when deleted), so records
      // arriving out of time order or twice change nothing.
      `CREATE TABLE exchange_heads (
        exchange TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        updated TEXT NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        labels TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (exchange, entry_id)
      )`,
      // The fingerprints of each live exchange entry; a bank row exists while one entry has it.
      `CREATE TABLE exchange_signals (
        exchange TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        signal TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (exchange, signal, value, entry_id)
      )`,
      'CREATE INDEX exchange_signals_entry ON exchange_signals (exchange, entry_id, signal, value)',
    ],
  },
];
