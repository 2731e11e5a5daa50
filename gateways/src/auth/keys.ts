/**
 * Channels and their API keys. A channel is one booking channel (the web
 * shop, the staff desk, a partner portal); it owns keys, a webhook URL for
 * its outbox messages and the secret those messages are signed with.
 *
 * A key's secret is 32 random bytes, shown once when the key is created and
 * stored only as its SHA-256: a leaked database does not leak usable keys.
 * (SHA-256 without a salt is enough here: the secrets are random, not
 * passwords, so there is nothing to guess.)
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../storage/db.js';

export const SCOPES = ['book', 'staff', 'analyst', 'device-admin', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Channel {
  channelId: string;
  name: string;
  webhookUrl: string | null;
  createdAt: number;
}

export interface ApiKey {
  keyId: string;
  channelId: string;
  name: string;
  scopes: Scope[];
  /** Who staff actions through this key are recorded as (`staff:<staffId>`). */
  staffId: string | null;
  /** The secret's last characters, so people can tell keys apart. */
  hint: string;
  /** Requests per rate-limit window; null = the configured default. */
  rateLimit: number | null;
  createdAt: number;
  revokedAt: number | null;
}

interface KeyRow {
  key_id: string;
  channel_id: string;
  name: string;
  scopes: string;
  staff_id: string | null;
  hint: string;
  rate_limit: number | null;
  created_at: number;
  revoked_at: number | null;
}

interface ChannelRow {
  channel_id: string;
  name: string;
  webhook_url: string | null;
  webhook_secret: string;
  created_at: number;
}

const SECRET_PREFIX = 'vk_';
const randomToken = (bytes: number): string => randomBytes(bytes).toString('base64url');
const shortId = (prefix: string): string => prefix + randomUUID().replaceAll('-', '').slice(0, 20);
export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

const toKey = (r: KeyRow): ApiKey => ({
  keyId: r.key_id,
  channelId: r.channel_id,
  name: r.name,
  scopes: JSON.parse(r.scopes) as Scope[],
  staffId: r.staff_id,
  hint: r.hint,
  rateLimit: r.rate_limit,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

const toChannel = (r: ChannelRow): Channel => ({
  channelId: r.channel_id,
  name: r.name,
  webhookUrl: r.webhook_url,
  createdAt: r.created_at,
});

export class KeyStore {
  /** Keys by bearer secret: every request looks its key up, and keys change rarely. Cleared on revocation. */
  private readonly cache = new Map<string, ApiKey | null>();
  /** Channels by id: the outbox asks about one for every event it derives messages from. */
  private readonly channelCache = new Map<string, Channel | null>();

  constructor(
    private readonly db: Db,
    private readonly clock: () => number = Date.now,
  ) {}

  createChannel(input: { channelId?: string; name: string; webhookUrl?: string | null }): { channel: Channel; webhookSecret: string } {
    const channelId = input.channelId ?? shortId('chn_');
    const webhookSecret = `whsec_${randomToken(32)}`;
    this.db
      .prepare('INSERT INTO channels (channel_id, name, webhook_url, webhook_secret, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(channelId, input.name, input.webhookUrl ?? null, webhookSecret, this.clock());
    this.channelCache.delete(channelId);
    return { channel: this.channel(channelId) as Channel, webhookSecret };
  }

  channel(channelId: string): Channel | undefined {
    let channel = this.channelCache.get(channelId);
    if (channel === undefined) {
      const row = this.db.prepare('SELECT * FROM channels WHERE channel_id = ?').get(channelId) as ChannelRow | undefined;
      channel = row === undefined ? null : toChannel(row);
      this.channelCache.set(channelId, channel);
    }
    return channel ?? undefined;
  }

  channels(): Channel[] {
    return (this.db.prepare('SELECT * FROM channels ORDER BY created_at, channel_id').all() as ChannelRow[]).map(toChannel);
  }

  updateChannel(channelId: string, change: { name?: string; webhookUrl?: string | null }): Channel | undefined {
    const current = this.channel(channelId);
    if (current === undefined) return undefined;
    this.db
      .prepare('UPDATE channels SET name = ?, webhook_url = ? WHERE channel_id = ?')
      .run(change.name ?? current.name, change.webhookUrl === undefined ? current.webhookUrl : change.webhookUrl, channelId);
    this.channelCache.delete(channelId);
    return this.channel(channelId);
  }

  /** The secret a channel's webhook messages are signed with. */
  webhookSecretOf(channelId: string): string | undefined {
    const row = this.db.prepare('SELECT webhook_secret FROM channels WHERE channel_id = ?').get(channelId) as
      | { webhook_secret: string }
      | undefined;
    return row?.webhook_secret;
  }

  createKey(input: { channelId: string; name: string; scopes: readonly Scope[]; staffId?: string | null; rateLimit?: number | null }): {
    key: ApiKey;
    secret: string;
  } {
    const keyId = shortId('key_');
    const secret = SECRET_PREFIX + randomToken(32);
    const scopes = SCOPES.filter((s) => input.scopes.includes(s));
    const staffId = input.staffId ?? (scopes.includes('staff') ? `stf_${keyId.slice(4)}` : null);
    this.db
      .prepare(
        `INSERT INTO api_keys (key_id, channel_id, name, scopes, staff_id, secret_hash, hint, rate_limit, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(keyId, input.channelId, input.name, JSON.stringify(scopes), staffId, hashSecret(secret), secret.slice(-4), input.rateLimit ?? null, this.clock());
    return { key: this.key(keyId) as ApiKey, secret };
  }

  key(keyId: string): ApiKey | undefined {
    const row = this.db.prepare('SELECT * FROM api_keys WHERE key_id = ?').get(keyId) as KeyRow | undefined;
    return row === undefined ? undefined : toKey(row);
  }

  keys(channelId?: string): ApiKey[] {
    const rows =
      channelId === undefined
        ? this.db.prepare('SELECT * FROM api_keys ORDER BY created_at, key_id').all()
        : this.db.prepare('SELECT * FROM api_keys WHERE channel_id = ? ORDER BY created_at, key_id').all(channelId);
    return (rows as KeyRow[]).map(toKey);
  }

  /** Revokes a key at once (also for requests already authenticated from the cache). */
  revoke(keyId: string): ApiKey | undefined {
    this.db.prepare('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE key_id = ?').run(this.clock(), keyId);
    this.cache.clear();
    return this.key(keyId);
  }

  /** The live key a bearer secret belongs to, if any. */
  authenticate(secret: string): ApiKey | undefined {
    if (!secret.startsWith(SECRET_PREFIX) || secret.length > 200) return undefined;
    // Cached by the secret itself (it is in every request anyway), so a known key costs no hashing.
    let key = this.cache.get(secret);
    if (key === undefined) {
      const row = this.db.prepare('SELECT * FROM api_keys WHERE secret_hash = ?').get(hashSecret(secret)) as KeyRow | undefined;
      key = row === undefined ? null : toKey(row);
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(secret, key);
    }
    return key === null || key.revokedAt !== null ? undefined : key;
  }

  hasLiveAdminKey(): boolean {
    return this.keys().some((k) => k.revokedAt === null && k.scopes.includes('admin'));
  }
}
