/**
 * The gateway's own SQLite database (`<DATA_DIR>/gateway.sqlite`, WAL): API
 * keys and channels, idempotency records, the outbox and its checkpoint.
 * Separate from the event store on purpose: it holds edge state (who may
 * call, what was answered, what is still to be delivered), not domain facts,
 * and works whichever event store adapter runs.
 *
 * Migrations are numbered and applied in order, tracked by `user_version`.
 */
import Database from 'better-sqlite3';

export type Db = Database.Database;

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE channels (
    channel_id     TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    webhook_url    TEXT,
    webhook_secret TEXT NOT NULL,
    created_at     INTEGER NOT NULL
  );
  CREATE TABLE api_keys (
    key_id        TEXT PRIMARY KEY,
    channel_id    TEXT NOT NULL REFERENCES channels(channel_id),
    name          TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    staff_id      TEXT,
    secret_hash   TEXT NOT NULL UNIQUE,
    hint          TEXT NOT NULL,
    rate_limit    INTEGER,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
  );
  CREATE TABLE idempotency (
    channel_id   TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    status       INTEGER,
    headers      TEXT,
    body         TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (channel_id, key)
  );
  CREATE INDEX idempotency_age ON idempotency(created_at);
  CREATE TABLE reservations (
    reservation_id TEXT PRIMARY KEY,
    channel_id     TEXT,
    site_id        TEXT NOT NULL,
    unit_id        TEXT,
    customer_id    TEXT,
    start_at       INTEGER NOT NULL,
    end_at         INTEGER NOT NULL,
    amount_cents   INTEGER NOT NULL,
    state          TEXT NOT NULL
  );
  CREATE TABLE outbox (
    message_id     TEXT PRIMARY KEY,
    channel_id     TEXT NOT NULL,
    type           TEXT NOT NULL,
    reservation_id TEXT,
    dedupe_key     TEXT NOT NULL UNIQUE,
    payload        TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'cancelled', 'skipped')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    deliver_at     INTEGER NOT NULL,
    last_error     TEXT,
    created_at     INTEGER NOT NULL,
    delivered_at   INTEGER
  );
  CREATE INDEX outbox_due ON outbox(status, deliver_at);
  CREATE INDEX outbox_channel ON outbox(channel_id, created_at);
  CREATE TABLE checkpoints (
    name     TEXT PRIMARY KEY,
    position INTEGER NOT NULL
  );
  `,
];

export function openDb(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`gateway database is at schema ${current}, newer than this build knows (${MIGRATIONS.length}); upgrade the gateway`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
