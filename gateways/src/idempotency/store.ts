/**
 * Idempotency records: per channel and key, the fingerprint of the request
 * first sent with the key and its answer (status, a few headers, body).
 * Durable in the gateway database, so a retry after a restart still gets the
 * first answer.
 *
 * A request whose twin is still running waits for it instead of running
 * again; that claim lives in memory only. Answers are written in one
 * transaction per event-loop turn (and kept in memory until then), so a busy
 * API pays one write per turn, not two per command. A process that dies
 * before writing leaves no record, so the retry runs again, and the engine's
 * own idempotency (keyed `<channel>:<key>`) returns whatever the first
 * attempt committed: nothing is done twice.
 */
import type { Db } from '../storage/db.js';

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type Begin =
  | { kind: 'proceed' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'wait'; done: Promise<void> };

interface Row {
  fingerprint: string;
  state: 'done';
  status: number | null;
  headers: string | null;
  body: string | null;
}

interface Running {
  fingerprint: string;
  done: Promise<void>;
  release: () => void;
}

interface Answered {
  channelId: string;
  key: string;
  fingerprint: string;
  response: StoredResponse;
  at: number;
}

export class IdempotencyStore {
  private readonly running = new Map<string, Running>();
  /** Answers not yet written (see `flush`). */
  private readonly unwritten = new Map<string, Answered>();
  private flushScheduled = false;
  private readonly select;
  private readonly insert;

  constructor(
    private readonly db: Db,
    private readonly clock: () => number = Date.now,
  ) {
    this.select = db.prepare<[string, string], Row>('SELECT fingerprint, state, status, headers, body FROM idempotency WHERE channel_id = ? AND key = ?');
    this.insert = db.prepare(
      "INSERT OR REPLACE INTO idempotency (channel_id, key, fingerprint, state, status, headers, body, created_at) VALUES (?, ?, ?, 'done', ?, ?, ?, ?)",
    );
  }

  /** Claims a key for a request, or says how to answer it instead. */
  begin(channelId: string, key: string, fingerprint: string): Begin {
    const id = `${channelId}\u0000${key}`;
    const twin = this.running.get(id);
    if (twin !== undefined) return twin.fingerprint === fingerprint ? { kind: 'wait', done: twin.done } : { kind: 'mismatch' };
    const answered = this.unwritten.get(id);
    if (answered !== undefined) {
      return answered.fingerprint === fingerprint ? { kind: 'replay', response: answered.response } : { kind: 'mismatch' };
    }
    const row = this.select.get(channelId, key);
    if (row !== undefined) {
      if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
      return {
        kind: 'replay',
        response: { status: row.status ?? 200, headers: JSON.parse(row.headers ?? '{}') as Record<string, string>, body: row.body ?? '' },
      };
    }
    let release = (): void => {};
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.running.set(id, { fingerprint, done, release });
    return { kind: 'proceed' };
  }

  /** Stores the answer; later requests with the key get it back. */
  complete(channelId: string, key: string, response: StoredResponse): void {
    const id = `${channelId}\u0000${key}`;
    const fingerprint = this.running.get(id)?.fingerprint;
    if (fingerprint !== undefined) {
      this.unwritten.set(id, { channelId, key, fingerprint, response, at: this.clock() });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    }
    this.release(channelId, key);
  }

  /** Writes the answers given since the last write, in one transaction. */
  flush(): void {
    this.flushScheduled = false;
    // A closed database (shutdown) loses only what the engine's own keys still cover.
    if (this.unwritten.size === 0 || !this.db.open) return;
    const answers = [...this.unwritten.values()];
    this.db.transaction(() => {
      for (const a of answers) {
        this.insert.run(a.channelId, a.key, a.fingerprint, a.response.status, JSON.stringify(a.response.headers), a.response.body, a.at);
      }
    })();
    this.unwritten.clear();
  }

  /** Forgets a claim whose request failed without a definite answer (a 5xx): a retry runs again. */
  abandon(channelId: string, key: string): void {
    this.release(channelId, key);
  }

  /** Deletes answered records older than `maxAgeMs`; returns how many. */
  purge(maxAgeMs: number): number {
    this.flush();
    return this.db.prepare("DELETE FROM idempotency WHERE state = 'done' AND created_at < ?").run(this.clock() - maxAgeMs).changes;
  }

  /** Requests being answered right now (for graceful shutdown and tests). */
  get inFlight(): number {
    return this.running.size;
  }

  private release(channelId: string, key: string): void {
    const id = `${channelId}\u0000${key}`;
    const twin = this.running.get(id);
    this.running.delete(id);
    twin?.release();
  }
}
