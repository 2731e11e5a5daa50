/**
 * NATS JetStream event store: the distributed deployment, and the bus that
 * feeds projections on other nodes. Written for nats-server 2.9 (no atomic
 * batch publish, no per-message TTL), so every guarantee below rests on one
 * message per commit and on the server's per-subject sequence check.
 *
 * Layout
 * - One JetStream stream (default `VUORO_EVENTS`) holds subjects
 *   `<prefix>.events.<stream token>`; a Vuoro stream `site-42` is subject
 *   `vuoro.events.site-42`. Characters a subject token cannot hold (and `%`)
 *   are written as `%XX` per UTF-8 byte, so different names never share a
 *   subject (see `subjectToken`).
 * - One commit = one message, so a commit is stored whole or not at all. The
 *   JSON body carries the stream, `recordedAt`, the commit id and the events;
 *   headers `Vuoro-Version` (last version) and `Vuoro-Count` give the
 *   versions, so reading a version needs no body decoding and the body is
 *   encoded once, even when a contended append is retried. Bodies
 *   over 64 KiB are deflated (`Vuoro-Encoding: deflate`); a commit that still
 *   does not fit the server's max_payload (1 MiB by default) is refused with
 *   `CommitTooLargeError`, since splitting it would lose atomicity.
 *
 * Versions: a stream's version is the last version recorded in the last
 * message of its subject. An append reads it (`last_by_subj`, or a
 * per-subject cache) and publishes with `Nats-Expected-Last-Subject-Sequence`
 * set to that message's sequence (0 = subject empty). If anyone wrote the
 * subject in between, the server refuses (`wrong last sequence`, 10071): the
 * cache is refreshed and the expected version re-checked, so a stale cache can
 * cost a round trip but never a wrong version.
 *
 * Positions: JetStream message sequence * 10,000 + index within the commit.
 * Strictly increasing in the feed, a commit's events are consecutive, and at
 * most 10,000 events fit one commit (`MAX_EVENTS_PER_COMMIT`). `after: p`
 * resumes at message floor(p / 10,000), skipping the events already seen.
 *
 * Idempotency (commitId)
 * - `Nats-Msg-Id: <stream>:<commitId>` lets the server drop a retry inside
 *   its duplicate window (2 minutes by default) and answer with the original
 *   sequence; the dedupe check runs before the sequence check, so a retry
 *   whose expected version no longer holds is still recognised.
 * - Beyond the window, a KV bucket (`VUORO_COMMITS`) remembers every commit
 *   id. Before publishing, the append creates `pending` (with the subject's
 *   sequence at that time); after the ack it records `done` with the result.
 *   A retry that finds `done` returns it; one that finds `pending` (the first
 *   attempt died between the two) searches the subject after that sequence
 *   for the message id, so it is recognised without relying on the window.
 *   The `done` write is not awaited by append: if it is lost, `pending` and
 *   the search still give the right answer, and append saves a round trip.
 *   Records are kept forever (a few hundred bytes per commit); give the
 *   bucket a TTL only if callers never retry older commits.
 *
 * Snapshots: KV bucket `VUORO_SNAPSHOTS`, one key per stream. A snapshot
 * whose JSON exceeds one chunk (half of max_payload) is written as numbered
 * chunk keys of a fresh generation, then the head key pointing at it, then the
 * old generation is purged: readers see the old or the new snapshot, whole.
 *
 * Clusters (`replicas: 3`, see infra/nats/README.md): the stream and both
 * buckets are replicated; a write needs a quorum. While a server dies or a
 * stream leader is re-elected, requests time out or find no responders for a
 * few seconds. With `retryForMs`, such transient failures are retried inside
 * the store for that long: reads simply again, and an append only when it has
 * a commit id, re-publishing the same message id, so a first attempt that
 * did land is answered by the server's dedupe (rebuilt by a new stream
 * leader), never written twice. Without a commit id the failure surfaces as
 * StoreUnavailableError, as before.
 *
 * Do not put size or age limits on the events stream: a subject whose last
 * message disappeared would restart at version 0.
 */
import { createHash, randomUUID } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  DeliverPolicy,
  JetStreamApiError,
  JetStreamError,
  jetstream,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import type {
  Consumer,
  ConsumerMessages,
  JetStreamClient,
  JetStreamManager,
  JsMsg,
  MsgRequest,
  PubAck,
  StoredMsg,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { connect, errors as natsErrors, headers as natsHeaders } from '@nats-io/transport-node';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import {
  assertAfter,
  assertAppendInput,
  assertReadOptions,
  StoreClosedError,
  toJson,
} from './common.js';
import {
  CommitTooLargeError,
  expectedVersionHolds,
  StoreUnavailableError,
  StreamVersionConflictError,
} from './port.js';
import type {
  AppendOptions,
  AppendResult,
  EventMetadata,
  EventStore,
  EventToAppend,
  RecordedEvent,
  Snapshot,
  SubscribeOptions,
  Subscription,
} from './port.js';

export interface NatsEventStoreOptions {
  servers: string | string[];
  /** JetStream stream for events. Default `VUORO_EVENTS`. */
  streamName?: string;
  /** Subjects are `<subjectPrefix>.events.<stream>`. Default `vuoro`. */
  subjectPrefix?: string;
  /** Replicas of the stream and buckets when this store creates them. Default 1. */
  replicas?: number;
  /** KV bucket of commit ids. Default `VUORO_COMMITS`. */
  commitsBucket?: string;
  /** KV bucket of snapshots. Default `VUORO_SNAPSHOTS`. */
  snapshotsBucket?: string;
  /** Server-side dedupe window when this store creates the stream. Default 120,000 ms (the server's). */
  duplicateWindowMs?: number;
  /** Publish and request timeout. Default 5,000 ms. */
  timeoutMs?: number;
  /**
   * Retry transient failures (timeouts, no responders, a leader election)
   * for this long before throwing StoreUnavailableError, and reconnect to the
   * servers forever. Default 0: fail at once (a single server). A cluster wants a few seconds.
   */
  retryForMs?: number;
  /**
   * A feed subscription that has delivered nothing for this long while the
   * stream is ahead of it replaces its consumer (one can be lost with the
   * server that held it). Default 5,000 ms.
   */
  stallMs?: number;
  /** Clock for `recordedAt`. */
  now?: () => Date;
}

export const POSITION_FACTOR = 10_000;
export const MAX_EVENTS_PER_COMMIT = POSITION_FACTOR;
const COMPRESS_ABOVE_BYTES = 64 * 1024;
/** Room left in max_payload for headers and the protocol line. */
const PAYLOAD_HEADROOM_BYTES = 4 * 1024;
const H_VERSION = 'Vuoro-Version';
const H_COUNT = 'Vuoro-Count';
const H_ENCODING = 'Vuoro-Encoding';
const H_MSG_ID = 'Nats-Msg-Id';
const WRONG_LAST_SEQUENCE = new Set([10071, 10164]);
const MESSAGE_TOO_BIG = 10054;
const MAX_APPEND_ATTEMPTS = 100;
const READ_BUFFER_MESSAGES = 32;

const SAFE_SUBJECT_CHAR = /^[A-Za-z0-9_-]$/;
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * A Vuoro stream name as one subject token: [A-Za-z0-9_-] stay, every other
 * character (including `.`, `*`, `>`, spaces and `%` itself) becomes `%XX`
 * per UTF-8 byte. Injective, so two streams never share a subject.
 */
export const subjectToken = (stream: string): string => {
  let token = '';
  for (const ch of stream) {
    if (SAFE_SUBJECT_CHAR.test(ch)) token += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) token += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return token;
};

/** KV keys allow [-/_=.A-Za-z0-9]: base64url of the name fits and is reversible. */
const keyPart = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');

interface CommitBody {
  stream: string;
  at: string;
  commit?: string;
  events: { t: string; d: unknown; s?: number; m?: EventMetadata }[];
}

type CommitRecord =
  | { stream: string; commitId: string; state: 'pending'; afterSeq: number }
  | { stream: string; commitId: string; state: 'done'; result: AppendResult };

interface SnapshotHead {
  stream: string;
  version: number;
  schema: string;
  savedAt: string;
  /** Inline state, or the generation and chunk count of a chunked one. */
  state?: unknown;
  chunks?: { generation: string; count: number; sha256: string };
}

interface Tip {
  seq: number;
  version: number;
}

const isWrongLastSequence = (e: unknown): boolean => e instanceof JetStreamApiError && WRONG_LAST_SEQUENCE.has(e.code);

const unavailable = (what: string, cause: unknown): StoreUnavailableError =>
  cause instanceof StoreUnavailableError
    ? cause
    : new StoreUnavailableError(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });

/** Failures of the connection or the server, as opposed to bugs and bad data. */
const isNatsFailure = (error: unknown): boolean =>
  error instanceof JetStreamError ||
  error instanceof JetStreamApiError ||
  Object.values(natsErrors).some((type) => error instanceof type);

/** A failure that may pass by itself (a server or leader away for a moment), as opposed to a refusal. */
const isTransient = (error: unknown): boolean => {
  const cause = error instanceof StoreUnavailableError ? error.cause : error;
  if (cause instanceof JetStreamApiError) return !WRONG_LAST_SEQUENCE.has(cause.code) && cause.code !== MESSAGE_TOO_BIG && cause.code !== 10059;
  return isNatsFailure(cause);
};

/** Runs a NATS call, turning transport and server failures into StoreUnavailableError. */
const guarded = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
  try {
    return await f();
  } catch (error) {
    throw isNatsFailure(error) ? unavailable(what, error) : error;
  }
};

const encodeBody = (body: CommitBody, stream: string): { data: Uint8Array; deflated: boolean } => {
  const json = Buffer.from(toJson(body, `commit to ${stream}`), 'utf8');
  if (json.length <= COMPRESS_ABOVE_BYTES) return { data: json, deflated: false };
  return { data: deflateRawSync(json), deflated: true };
};

/** The last version and event count of a stored commit, from its headers. */
const commitShape = (hdrs: MsgHdrs | undefined): { last: number; count: number } => {
  const last = Number(hdrs?.get(H_VERSION));
  const count = Number(hdrs?.get(H_COUNT));
  if (!Number.isSafeInteger(last) || !Number.isSafeInteger(count) || count < 1 || last < count) {
    throw new Error('not a Vuoro commit message (no version headers)');
  }
  return { last, count };
};

/** The recorded events of one stored commit message. */
const decodeCommit = (seq: number, data: Uint8Array, hdrs: MsgHdrs | undefined): RecordedEvent[] => {
  const { last, count } = commitShape(hdrs);
  const raw =
    hdrs?.get(H_ENCODING) === 'deflate' ? inflateRawSync(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const body = JSON.parse(raw.toString('utf8')) as CommitBody;
  if (typeof body.stream !== 'string' || !Array.isArray(body.events) || body.events.length !== count) {
    throw new Error(`message ${seq} is not a Vuoro commit`);
  }
  const first = last - count + 1;
  return body.events.map((e, i) => ({
    stream: body.stream,
    version: first + i,
    position: seq * POSITION_FACTOR + i,
    type: e.t,
    data: e.d,
    schemaVersion: e.s ?? 1,
    metadata: { ...e.m, recordedAt: body.at },
  }));
};

const resultOf = (seq: number, shape: { last: number; count: number }, duplicate: boolean): AppendResult => ({
  nextExpectedVersion: shape.last,
  firstPosition: seq * POSITION_FACTOR,
  lastPosition: seq * POSITION_FACTOR + shape.count - 1,
  duplicate,
});

export class NatsEventStore implements EventStore {
  readonly name: string;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #commits: KV;
  readonly #snapshots: KV;
  readonly #streamName: string;
  readonly #prefix: string;
  readonly #now: () => Date;
  readonly #timeoutMs: number;
  readonly #retryForMs: number;
  readonly #stallMs: number;
  readonly #maxPayload: number;
  /** Last known (sequence, version) per subject; only ever a hint, verified by the server's sequence check. */
  readonly #tips = new Map<string, Tip>();
  readonly #subscriptions = new Set<Subscription>();
  /** Commit records written after append returned; close() waits for them. */
  readonly #background = new Set<Promise<unknown>>();
  #closed = false;

  private constructor(init: {
    nc: NatsConnection;
    js: JetStreamClient;
    jsm: JetStreamManager;
    commits: KV;
    snapshots: KV;
    streamName: string;
    prefix: string;
    options: NatsEventStoreOptions;
  }) {
    this.#nc = init.nc;
    this.#js = init.js;
    this.#jsm = init.jsm;
    this.#commits = init.commits;
    this.#snapshots = init.snapshots;
    this.#streamName = init.streamName;
    this.#prefix = init.prefix;
    this.#now = init.options.now ?? (() => new Date());
    this.#timeoutMs = init.options.timeoutMs ?? 5000;
    this.#retryForMs = init.options.retryForMs ?? 0;
    this.#stallMs = init.options.stallMs ?? 5000;
    this.#maxPayload = init.nc.info?.max_payload ?? 1024 * 1024;
    this.name = `nats:${init.streamName}`;
  }

  static async connect(options: NatsEventStoreOptions): Promise<NatsEventStore> {
    const streamName = options.streamName ?? 'VUORO_EVENTS';
    const prefix = options.subjectPrefix ?? 'vuoro';
    if (!SUBJECT_PREFIX.test(prefix)) throw new TypeError(`subjectPrefix ${prefix} is not a valid subject prefix`);
    const replicas = options.replicas ?? 1;
    const timeout = options.timeoutMs ?? 5000;
    let nc: NatsConnection;
    try {
      const servers = typeof options.servers === 'string' ? options.servers.split(',').map((s) => s.trim()) : options.servers;
      nc = await connect({
        servers,
        name: 'vuoro-event-store',
        timeout,
        // The list is in order of preference (this node's own server first), not a pool to pick from at random.
        noRandomize: true,
        ...((options.retryForMs ?? 0) > 0 ? { maxReconnectAttempts: -1, reconnectTimeWait: 250 } : {}),
      });
    } catch (error) {
      throw unavailable(`cannot connect to NATS at ${String(options.servers)}`, error);
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout });
      const js = jetstream(nc, { timeout });
      const subjects = `${prefix}.events.>`;
      const existing = await jsm.streams.info(streamName).catch((error: unknown) => {
        if (error instanceof JetStreamApiError && error.code === 10059) return undefined;
        throw error;
      });
      if (existing === undefined) {
        await jsm.streams.add({
          name: streamName,
          subjects: [subjects],
          storage: StorageType.File,
          num_replicas: replicas,
          duplicate_window: (options.duplicateWindowMs ?? 120_000) * 1_000_000,
        });
      } else if (!existing.config.subjects?.includes(subjects)) {
        throw new Error(`JetStream stream ${streamName} exists but does not hold subjects ${subjects}`);
      }
      const kvm = new Kvm(js);
      const commits = await kvm.create(options.commitsBucket ?? 'VUORO_COMMITS', { history: 1, replicas, timeout });
      const snapshots = await kvm.create(options.snapshotsBucket ?? 'VUORO_SNAPSHOTS', { history: 1, replicas, timeout });
      return new NatsEventStore({ nc, js, jsm, commits, snapshots, streamName, prefix, options });
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw error instanceof TypeError || (error instanceof Error && error.message.startsWith('JetStream stream'))
        ? error
        : unavailable('cannot set up the JetStream event store', error);
    }
  }

  /** The subject that holds a Vuoro stream's commits. */
  subjectOf(stream: string): string {
    return `${this.#prefix}.events.${subjectToken(stream)}`;
  }

  async append(stream: string, events: readonly EventToAppend[], options: AppendOptions): Promise<AppendResult> {
    this.#assertOpen();
    assertAppendInput(stream, events);
    if (events.length > MAX_EVENTS_PER_COMMIT) {
      throw new CommitTooLargeError(stream, `${events.length} events; one commit holds at most ${MAX_EVENTS_PER_COMMIT}`);
    }
    const subject = this.subjectOf(stream);
    const recordedAt = this.#now().toISOString();
    const { commitId } = options;
    const body: CommitBody = {
      stream,
      at: recordedAt,
      ...(commitId === undefined ? {} : { commit: commitId }),
      events: events.map((e) => ({
        t: e.type,
        d: e.data,
        ...(e.schemaVersion === undefined || e.schemaVersion === 1 ? {} : { s: e.schemaVersion }),
        ...(e.metadata === undefined ? {} : { m: e.metadata }),
      })),
    };
    // Encoded before anything is written (even a commit record), so a value
    // JSON refuses, or a commit too big to publish, leaves no trace.
    const { data, deflated } = this.#encode(body, stream);

    let tip = await this.#retrying(() => this.#tip(subject, false));
    let claimedHere = false;
    const msgID = commitId === undefined ? undefined : `${stream}:${commitId}`;
    if (commitId !== undefined && msgID !== undefined) {
      const afterSeq = tip.seq;
      const claim = await this.#retrying(() => this.#claimCommit(stream, commitId, subject, msgID, afterSeq));
      if (claim.earlier !== undefined) return claim.earlier;
      claimedHere = claim.claimed;
    }

    for (let attempt = 0, fresh = false; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      if (!expectedVersionHolds(options.expectedVersion, tip.version)) {
        if (!fresh) {
          // The cache may be behind another writer: only a fresh read can refuse.
          tip = await this.#retrying(() => this.#tip(subject, true));
          fresh = true;
          attempt--;
          continue;
        }
        // Every publish of this attempt was refused, so nothing of it was
        // written: purge the claim it made (a small purge marker stays).
        if (claimedHere && commitId !== undefined) this.#dropClaim(stream, commitId);
        throw new StreamVersionConflictError(stream, options.expectedVersion, tip.version);
      }
      const hdrs = natsHeaders();
      hdrs.set(H_VERSION, String(tip.version + events.length));
      hdrs.set(H_COUNT, String(events.length));
      if (deflated) hdrs.set(H_ENCODING, 'deflate');
      let ack: PubAck;
      const expectedSeq = tip.seq;
      const publish = () =>
        this.#js.publish(subject, data, {
          headers: hdrs,
          expect: { lastSubjectSequence: expectedSeq },
          timeout: this.#timeoutMs,
          ...(msgID === undefined ? {} : { msgID }),
        });
      try {
        // Only a publish with a message id may be repeated: the server recognises it if it landed.
        ack = msgID === undefined ? await publish() : await this.#retrying(publish);
      } catch (error) {
        if (isWrongLastSequence(error)) {
          tip = await this.#retrying(() => this.#tip(subject, true));
          fresh = true;
          continue;
        }
        if (error instanceof JetStreamApiError && error.code === MESSAGE_TOO_BIG) {
          throw new CommitTooLargeError(stream, `the stream refused the message size (${data.length} bytes)`);
        }
        throw isNatsFailure(error) ? unavailable(`append to ${stream}: outcome unknown`, error) : error;
      }
      const result = ack.duplicate
        ? await this.#resultOfSeq(stream, ack.seq, true)
        : resultOf(ack.seq, { last: tip.version + events.length, count: events.length }, false);
      this.#learnTip(subject, { seq: ack.seq, version: result.nextExpectedVersion });
      if (commitId !== undefined) this.#recordDone(stream, commitId, result);
      return result;
    }
    throw new StoreUnavailableError(`append to ${stream}: gave up after ${MAX_APPEND_ATTEMPTS} contended attempts`);
  }

  async readStream(stream: string, options: { fromVersion?: number; limit?: number } = {}): Promise<RecordedEvent[]> {
    this.#assertOpen();
    assertReadOptions(options.fromVersion ?? 1, options.limit);
    return this.#retrying(() => this.#readStream(stream, options));
  }

  async #readStream(stream: string, options: { fromVersion?: number; limit?: number }): Promise<RecordedEvent[]> {
    const fromVersion = options.fromVersion ?? 1;
    const subject = this.subjectOf(stream);
    const last = await guarded(`readStream ${stream}`, () => this.#lastMessage(subject));
    if (last === null) return [];
    const lastShape = commitShape(last.header);
    this.#learnTip(subject, { seq: last.seq, version: lastShape.last });
    if (lastShape.last < fromVersion || options.limit === 0) return [];
    const keep = (e: RecordedEvent) => e.version >= fromVersion;
    const firstOfLast = lastShape.last - lastShape.count + 1;
    if (fromVersion >= firstOfLast) {
      // Everything asked for is in the message we already hold.
      const events = decodeCommit(last.seq, last.data, last.header).filter(keep);
      return options.limit === undefined ? events : events.slice(0, options.limit);
    }
    const startSeq = fromVersion <= 1 ? 1 : await this.#seqHoldingVersion(subject, fromVersion, last.seq);
    return this.#readRange(subject, startSeq, last.seq, keep, options.limit);
  }

  async streamVersion(stream: string): Promise<number> {
    this.#assertOpen();
    return (await this.#retrying(() => this.#tip(this.subjectOf(stream), true))).version;
  }

  async readAll(options: { after: number; limit?: number }): Promise<RecordedEvent[]> {
    this.#assertOpen();
    assertAfter(options.after);
    assertReadOptions(1, options.limit);
    return this.#retrying(async () => {
      const info = await guarded('readAll', () => this.#jsm.streams.info(this.#streamName));
      const startSeq = Math.max(1, Math.floor(options.after / POSITION_FACTOR));
      if (info.state.last_seq < startSeq || options.limit === 0) return [];
      return this.#readRange(
        `${this.#prefix}.events.>`,
        startSeq,
        info.state.last_seq,
        (e) => e.position > options.after,
        options.limit,
      );
    });
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.#assertOpen();
    assertAfter(options.after);
    const subscription = new NatsSubscription(
      (startSeq) => this.#orderedConsumer(`${this.#prefix}.events.>`, startSeq),
      async () => (await this.#jsm.streams.info(this.#streamName)).state.last_seq,
      () => this.#nc.isClosed(),
      options,
      this.#stallMs,
    );
    this.#subscriptions.add(subscription);
    void subscription.done.then(() => this.#subscriptions.delete(subscription));
    return subscription;
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.#assertOpen();
    const key = `s.${keyPart(snapshot.stream)}`;
    const stateJson = toJson(snapshot.state, `snapshot state of ${snapshot.stream}`);
    const head: SnapshotHead = {
      stream: snapshot.stream,
      version: snapshot.version,
      schema: snapshot.schema,
      savedAt: this.#now().toISOString(),
    };
    const chunkBytes = Math.floor(this.#maxPayload / 2);
    const bytes = Buffer.from(stateJson, 'utf8');
    await guarded(`saveSnapshot ${snapshot.stream}`, async () => {
      const previous = await this.#readHead(key);
      if (bytes.length <= chunkBytes) {
        await this.#snapshots.put(key, toJson({ ...head, state: snapshot.state }, 'snapshot'));
      } else {
        const generation = randomUUID();
        const count = Math.ceil(bytes.length / chunkBytes);
        for (let i = 0; i < count; i++) {
          await this.#snapshots.put(this.#chunkKey(snapshot.stream, generation, i), bytes.subarray(i * chunkBytes, (i + 1) * chunkBytes));
        }
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        await this.#snapshots.put(key, toJson({ ...head, chunks: { generation, count, sha256 } }, 'snapshot'));
      }
      if (previous?.chunks !== undefined) await this.#purgeChunks(snapshot.stream, previous.chunks);
    });
  }

  async loadSnapshot(stream: string): Promise<Snapshot | undefined> {
    this.#assertOpen();
    const key = `s.${keyPart(stream)}`;
    return this.#retrying(() => guarded(`loadSnapshot ${stream}`, async () => {
      // A concurrent save may purge the chunks we are reading: read the head again and retry.
      for (let attempt = 0; attempt < 5; attempt++) {
        const head = await this.#readHead(key);
        if (head === undefined) return undefined;
        const base = { stream, version: head.version, schema: head.schema };
        if (head.chunks === undefined) return { ...base, state: head.state };
        const parts: Uint8Array[] = [];
        for (let i = 0; i < head.chunks.count; i++) {
          const entry = await this.#snapshots.get(this.#chunkKey(stream, head.chunks.generation, i));
          if (entry === null || entry.operation !== 'PUT') break;
          parts.push(entry.value);
        }
        if (parts.length !== head.chunks.count) continue;
        const bytes = Buffer.concat(parts);
        if (createHash('sha256').update(bytes).digest('hex') !== head.chunks.sha256) continue;
        return { ...base, state: JSON.parse(bytes.toString('utf8')) as unknown };
      }
      throw new StoreUnavailableError(`loadSnapshot ${stream}: snapshot kept changing while being read`);
    }));
  }

  /**
   * The feed's head position (the last message's first event), for a
   * follower that loads state first and then follows the feed from here.
   */
  async headPosition(): Promise<number> {
    this.#assertOpen();
    const info = await this.#retrying(() => guarded('headPosition', () => this.#jsm.streams.info(this.#streamName)));
    return info.state.last_seq * POSITION_FACTOR;
  }

  /** Replication state of the events stream: its leader and each replica's lag (operations behind), for /metrics. */
  async replication(): Promise<{ leader: string | undefined; replicas: { name: string; current: boolean; lag: number; activeMs: number }[] }> {
    this.#assertOpen();
    const info = await guarded('stream info', () => this.#jsm.streams.info(this.#streamName));
    return {
      leader: info.cluster?.leader,
      replicas: (info.cluster?.replicas ?? []).map((r) => ({
        name: r.name,
        current: r.current,
        lag: r.lag ?? 0,
        activeMs: r.active / 1_000_000,
      })),
    };
  }

  /** Runs `f` again on transient failures for up to `retryForMs` (see the header). */
  async #retrying<T>(f: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#retryForMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await f();
      } catch (error) {
        if (this.#closed || Date.now() >= deadline || !isTransient(error)) throw error;
        await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 500)));
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((s) => s.close()));
    await Promise.allSettled([...this.#background]);
    await this.#nc.close().catch(() => undefined);
  }

  // --- versions -----------------------------------------------------------

  async #lastMessage(subject: string): Promise<StoredMsg | null> {
    return this.#jsm.streams.getMessage(this.#streamName, { last_by_subj: subject });
  }

  async #tip(subject: string, fresh: boolean): Promise<Tip> {
    if (!fresh) {
      const cached = this.#tips.get(subject);
      if (cached !== undefined) return cached;
    }
    const last = await guarded(`read version of ${subject}`, () => this.#lastMessage(subject));
    const tip = last === null ? { seq: 0, version: 0 } : { seq: last.seq, version: commitShape(last.header).last };
    this.#learnTip(subject, tip);
    return tip;
  }

  #learnTip(subject: string, tip: Tip): void {
    const known = this.#tips.get(subject);
    if (known !== undefined && known.seq >= tip.seq) return;
    // A hint cache: dropping it all when large costs one read per stream.
    if (this.#tips.size >= 100_000) this.#tips.clear();
    this.#tips.set(subject, tip);
  }

  /**
   * The first message of `subject` with sequence >= seq. Server 2.9 answers
   * `next_by_subj` on STREAM.MSG.GET; the client's type for that call only
   * lists `seq` and `last_by_subj`, hence the cast.
   */
  async #nextBySubject(subject: string, seq: number): Promise<StoredMsg | null> {
    const query = { seq, next_by_subj: subject };
    return this.#jsm.streams.getMessage(this.#streamName, query as unknown as MsgRequest);
  }

  /**
   * Sequence of the message of `subject` that holds `version`, by binary
   * search over stream sequences (versions grow with sequence): O(log n)
   * round trips, so reading a long stream from a snapshot's version does not
   * scan it from the start. `lastSeq` is the subject's last message, which
   * is known to hold a version >= the one sought.
   */
  async #seqHoldingVersion(subject: string, version: number, lastSeq: number): Promise<number> {
    return guarded(`find version ${version} of ${subject}`, async () => {
      let candidate = lastSeq;
      let lo = 1;
      let hi = lastSeq - 1;
      while (lo <= hi) {
        const mid = Math.floor((lo + hi) / 2);
        const m = await this.#nextBySubject(subject, mid);
        if (m === null || m.seq > hi) {
          hi = mid - 1;
          continue;
        }
        if (commitShape(m.header).last >= version) {
          candidate = m.seq;
          hi = mid - 1;
        } else {
          lo = m.seq + 1;
        }
      }
      return candidate;
    });
  }

  // --- reading --------------------------------------------------------------

  async #orderedConsumer(filter: string, startSeq: number): Promise<Consumer> {
    return this.#js.consumers.get(this.#streamName, {
      filter_subjects: filter,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: startSeq,
    });
  }

  /** Events of messages startSeq..endSeq matching `filter` and `keep`, at most `limit`. */
  async #readRange(
    filter: string,
    startSeq: number,
    endSeq: number,
    keep: (e: RecordedEvent) => boolean,
    limit: number | undefined,
  ): Promise<RecordedEvent[]> {
    return guarded('read', async () => {
      const out: RecordedEvent[] = [];
      const consumer = await this.#orderedConsumer(filter, startSeq);
      try {
        const messages = await consumer.consume({ max_messages: READ_BUFFER_MESSAGES });
        try {
          for await (const m of messages) {
            for (const e of decodeCommit(m.seq, m.data, m.headers)) {
              if (!keep(e)) continue;
              out.push(e);
              if (limit !== undefined && out.length >= limit) return out;
            }
            if (m.seq >= endSeq) return out;
          }
        } finally {
          await messages.close();
        }
      } finally {
        await consumer.delete().catch(() => false);
      }
      throw new StoreUnavailableError(`read of ${filter} ended before sequence ${endSeq}`);
    });
  }

  async #resultOfSeq(stream: string, seq: number, duplicate: boolean): Promise<AppendResult> {
    const m = await guarded(`append to ${stream}`, () => this.#jsm.streams.getMessage(this.#streamName, { seq }));
    if (m === null) throw new StoreUnavailableError(`append to ${stream}: message ${seq} has disappeared`);
    return resultOf(seq, commitShape(m.header), duplicate);
  }

  // --- idempotency ----------------------------------------------------------

  #commitKey(stream: string, commitId: string): string {
    return `${keyPart(stream)}.${keyPart(commitId)}`;
  }

  /**
   * Claims a commit id before its message is published. `earlier` is the
   * earlier result when this commit id was already stored; otherwise the
   * caller publishes, and `claimed` says whether this call made the claim.
   */
  async #claimCommit(
    stream: string,
    commitId: string,
    subject: string,
    msgID: string,
    afterSeq: number,
  ): Promise<{ earlier?: AppendResult; claimed: boolean }> {
    const key = this.#commitKey(stream, commitId);
    const pending: CommitRecord = { stream, commitId, state: 'pending', afterSeq };
    return guarded(`append to ${stream}: commit record`, async () => {
      try {
        await this.#commits.create(key, toJson(pending, 'commit record'));
        return { claimed: true };
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
      }
      const entry = await this.#commits.get(key);
      if (entry === null || entry.operation !== 'PUT') return { claimed: false };
      const record = entry.json<CommitRecord>();
      if (record.state === 'done') return { earlier: { ...record.result, duplicate: true }, claimed: false };
      // The earlier attempt stopped between its claim and its ack (or is
      // still in flight, which the server's msgID dedupe covers): look for its message.
      for (let seq = record.afterSeq + 1; ; ) {
        const m = await this.#nextBySubject(subject, seq);
        if (m === null) return { claimed: false };
        if (m.header?.get(H_MSG_ID) === msgID) {
          const result = resultOf(m.seq, commitShape(m.header), true);
          this.#recordDone(stream, commitId, result);
          return { earlier: result, claimed: false };
        }
        seq = m.seq + 1;
      }
    });
  }

  #dropClaim(stream: string, commitId: string): void {
    const drop = this.#commits
      .purge(this.#commitKey(stream, commitId))
      .catch(() => undefined) // a leftover claim only costs a search on a later retry
      .finally(() => this.#background.delete(drop));
    this.#background.add(drop);
  }

  #recordDone(stream: string, commitId: string, result: AppendResult): void {
    const record: CommitRecord = { stream, commitId, state: 'done', result: { ...result, duplicate: false } };
    const write = this.#commits
      .put(this.#commitKey(stream, commitId), JSON.stringify(record))
      .catch(() => undefined) // `pending` plus the subject search still answer a retry.
      .finally(() => this.#background.delete(write));
    this.#background.add(write);
  }

  // --- snapshots ------------------------------------------------------------

  async #readHead(key: string): Promise<SnapshotHead | undefined> {
    const entry = await this.#snapshots.get(key);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return entry.json<SnapshotHead>();
  }

  #chunkKey(stream: string, generation: string, index: number): string {
    return `c.${keyPart(stream)}.${generation}.${index}`;
  }

  async #purgeChunks(stream: string, chunks: NonNullable<SnapshotHead['chunks']>): Promise<void> {
    for (let i = 0; i < chunks.count; i++) await this.#snapshots.purge(this.#chunkKey(stream, chunks.generation, i));
  }

  // --- misc -----------------------------------------------------------------

  #encode(body: CommitBody, stream: string): { data: Uint8Array; deflated: boolean } {
    const encoded = encodeBody(body, stream);
    const limit = this.#maxPayload - PAYLOAD_HEADROOM_BYTES;
    if (encoded.data.length > limit) {
      throw new CommitTooLargeError(
        stream,
        `${body.events.length} events take ${encoded.data.length} bytes${encoded.deflated ? ' deflated' : ''}; ` +
          `the server takes at most ${limit} per message`,
      );
    }
    return encoded;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError(this.name);
  }
}

/**
 * Follows the feed with an ordered consumer (the client recreates it at the
 * right sequence after a gap or a reconnect), handing events to the handler
 * one at a time: the next message is not taken from the consumer's buffer
 * until the handler's promise settles.
 */
/**
 * A feed subscription on an ordered consumer. A consumer can be lost with
 * the server that held it, and the client is not always told: the messages
 * just stop. So a watchdog compares the stream's last sequence with what was
 * delivered; when the stream is ahead and nothing arrived for `stallMs`, the
 * consumer is replaced by a new one from the checkpoint (events at or below
 * it are skipped, so nothing is delivered twice). A consumer that fails or
 * ends (its server killed, a leader election) is replaced the same way,
 * after a pause that grows to 5 s, as long as the connection lives: like the
 * SQLite store's subscription, a store that is away for a while is waited
 * for. A handler's error, a closed connection, or `close()` ends the
 * subscription for good.
 */
class NatsSubscription implements Subscription {
  readonly done: Promise<void>;
  #failure: unknown;
  #closed = false;
  #stalled = false;
  #messages: ConsumerMessages | undefined;
  #checkpoint: number;
  #lastProgressAt = Date.now();
  /** The checkpoint when the last consumer ended: a consumer that delivered since resets the pause. */
  #deliveredAtFailure = -1;
  /** A handler still working is progress, however long it takes. */
  #inHandler = false;
  readonly #watch: NodeJS.Timeout;

  constructor(
    private readonly openConsumer: (startSeq: number) => Promise<Consumer>,
    private readonly lastSeq: () => Promise<number>,
    private readonly connectionClosed: () => boolean,
    options: SubscribeOptions,
    private readonly stallMs: number,
  ) {
    this.#checkpoint = options.after;
    this.#watch = setInterval(() => void this.#checkStall(), Math.max(50, stallMs / 2));
    this.#watch.unref();
    this.done = this.#run(options).finally(() => clearInterval(this.#watch));
  }

  get failure(): unknown {
    return this.#failure;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#messages?.stop();
    await this.done;
  }

  async #checkStall(): Promise<void> {
    if (this.#closed || this.#stalled || this.#inHandler || Date.now() - this.#lastProgressAt < this.stallMs) return;
    const seq = Math.floor(this.#checkpoint / POSITION_FACTOR);
    const last = await this.lastSeq().catch(() => undefined);
    // Unreachable servers are not a stall of this consumer: the client's reconnects handle them.
    if (last === undefined || last <= seq || this.#closed || this.#inHandler || Date.now() - this.#lastProgressAt < this.stallMs) return;
    this.#stalled = true;
    this.#messages?.stop();
  }

  async #run({ handler }: SubscribeOptions): Promise<void> {
    for (let failures = 0; !this.#closed; ) {
      this.#stalled = false;
      this.#lastProgressAt = Date.now();
      let consumer: Consumer | undefined;
      try {
        consumer = await this.openConsumer(Math.max(1, Math.floor(this.#checkpoint / POSITION_FACTOR)));
        if (this.#closed) return;
        this.#messages = await consumer.consume({ max_messages: READ_BUFFER_MESSAGES });
        if (this.#closed) return;
        for await (const m of this.#messages as AsyncIterable<JsMsg>) {
          this.#lastProgressAt = Date.now();
          this.#failure = undefined;
          for (const event of decodeCommit(m.seq, m.data, m.headers)) {
            if (this.#closed) return;
            if (event.position <= this.#checkpoint) continue;
            this.#inHandler = true;
            try {
              await handler(event);
            } catch (error) {
              this.#failure = error;
              return;
            } finally {
              this.#inHandler = false;
            }
            this.#checkpoint = event.position;
            this.#lastProgressAt = Date.now();
          }
          if (this.#closed) return;
        }
        if (this.#closed) return;
        if (!this.#stalled) this.#failure = new StoreUnavailableError('the JetStream subscription ended');
      } catch (error) {
        if (this.#closed) return;
        this.#failure = isNatsFailure(error) ? unavailable('subscription', error) : error;
        if (!isNatsFailure(error)) return; // not the server's doing: final
      } finally {
        await this.#messages?.close().catch(() => undefined);
        this.#messages = undefined;
        await consumer?.delete().catch(() => false);
      }
      if (this.#closed || this.connectionClosed()) return;
      // Stalled, ended or failed on the server side: a new consumer from the checkpoint, after a pause
      // when it keeps failing. `failure` says why until a new consumer delivers again.
      if (this.#stalled || this.#checkpoint > this.#deliveredAtFailure) failures = 0;
      this.#deliveredAtFailure = this.#checkpoint;
      if (!this.#stalled) await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** failures++)));
    }
  }
}
