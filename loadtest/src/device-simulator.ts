/**
 * Simulated access-control devices that behave like real ones, over real
 * MQTT (mqtt.js, MQTT 3.1.1). Used by the gateway's integration tests and by
 * `bench:access`.
 *
 * - `SimLock`: connects with its device id and secret and a last will that
 *   marks its door offline (retained), subscribes to its door's commands,
 *   allow-list and auth answers, keeps the latest valid allow-list
 *   (`LockController` of @vuoro/access-control verifies the signature,
 *   version and expiry), asks the server when someone presents a PIN or card,
 *   falls back to its allow-list when the server is unreachable (and reports
 *   those decisions once it is back), runs signed commands once, and reports
 *   door events.
 * - `SimSensor`: an occupancy sensor, zigbee2mqtt-style payloads welcome.
 * - `SimCabinet`: a key cabinet reporting keys taken and returned.
 * - `runScenario`: a day of reservations played against the locks and
 *   sensors: customers arrive in their window (some never come: no-shows),
 *   and some spaces are used without a booking.
 */
import { randomBytes } from 'node:crypto';
import { LockController, TopicTree, type CredentialMethod, type DecisionReason, type PublicJwk } from '@vuoro/access-control';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createRng } from './prng.js';

export interface DeviceCredentials {
  deviceId: string;
  secret: string;
  siteId: string;
}

export interface SimOptions {
  url: string;
  tree?: TopicTree;
  clock?: () => number;
  /** Extra mqtt.js options (TLS: ca, rejectUnauthorized; reconnectPeriod). */
  mqtt?: IClientOptions;
}

export interface Presented {
  granted: boolean;
  reason: DecisionReason;
  mode: 'online' | 'offline';
  credentialId?: string;
  until?: number;
}

/** A random prefix per lock and a counter: unique, unguessable ids for a few bytes of randomness per boot. */
const newIdPrefix = (): string => `req_${randomBytes(6).toString('base64url')}`;

function connect(url: string, options: IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 4, clean: true, reconnectPeriod: 1000, connectTimeout: 30_000, keepalive: 60, ...options });
}

export class SimLock {
  readonly controller: LockController;
  readonly tree: TopicTree;
  readonly doorId: string;
  readonly siteId: string;
  /** Allow-list outcomes, newest last (applied or the rejection reason). */
  readonly allowListLog: { ok: boolean; version?: number; reason?: string }[] = [];
  readonly commandLog: { ok: boolean; commandId?: string; action?: string; reason?: string }[] = [];
  private readonly pending = new Map<string, (p: Presented) => void>();
  private readonly idPrefix = newIdPrefix();
  private seq = 0;
  private readonly listWaiters: { version: number; resolve: () => void }[] = [];
  private constructor(
    readonly client: MqttClient,
    readonly credentials: DeviceCredentials & { doorId: string },
    options: SimOptions & { trustedKeys: PublicJwk[] },
  ) {
    this.tree = options.tree ?? new TopicTree();
    this.doorId = credentials.doorId;
    this.siteId = credentials.siteId;
    this.controller = new LockController({
      siteId: credentials.siteId,
      doorId: credentials.doorId,
      trustedKeys: options.trustedKeys,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('connect', () => {
      // Back on line: say so, and report what was decided while away.
      void this.publishState();
      for (const d of this.controller.drainOfflineDecisions()) {
        void this.report(d.granted ? 'granted' : 'denied', {
          offline: true,
          at: d.at,
          reason: d.reason,
          ...(d.credentialId === undefined ? {} : { credentialId: d.credentialId }),
        });
      }
    });
  }

  static async connect(credentials: DeviceCredentials & { doorId: string }, options: SimOptions & { trustedKeys: PublicJwk[] }): Promise<SimLock> {
    const tree = options.tree ?? new TopicTree();
    const client = await connect(options.url, {
      clientId: credentials.deviceId,
      username: credentials.deviceId,
      password: credentials.secret,
      will: {
        topic: tree.doorState(credentials.siteId, credentials.doorId),
        payload: Buffer.from(JSON.stringify({ state: 'UNKNOWN', online: false })),
        qos: 1,
        retain: true,
      },
      ...options.mqtt,
    });
    const lock = new SimLock(client, credentials, { ...options, tree });
    await client.subscribeAsync({
      [tree.doorCommand(credentials.siteId, credentials.doorId)]: { qos: 1 },
      [tree.allowList(credentials.siteId, credentials.doorId)]: { qos: 1 },
      [tree.authResponses(credentials.siteId, credentials.doorId)]: { qos: 0 },
    });
    await lock.publishState();
    return lock;
  }

  get online(): boolean {
    return this.client.connected;
  }

  private onMessage(topic: string, payload: Buffer): void {
    const t = this.tree.parse(topic);
    if (t?.kind !== 'door') return;
    if (t.leaf === 'auth_res' && t.requestId !== undefined) {
      const resolve = this.pending.get(t.requestId);
      if (resolve === undefined) return;
      this.pending.delete(t.requestId);
      try {
        const r = JSON.parse(payload.toString()) as { granted: boolean; reason: DecisionReason; until?: string; credentialId?: string; serverTime?: string };
        if (r.serverTime !== undefined) this.controller.noteServerTime(r.serverTime);
        resolve({
          granted: r.granted,
          reason: r.reason,
          mode: 'online',
          ...(r.credentialId === undefined ? {} : { credentialId: r.credentialId }),
          ...(r.until === undefined ? {} : { until: Date.parse(r.until) }),
        });
      } catch {
        resolve({ granted: false, reason: 'invalid_request', mode: 'online' });
      }
    } else if (t.leaf === 'allowlist') {
      if (payload.length === 0) return;
      const r = this.controller.acceptAllowList(payload);
      this.allowListLog.push(r);
      if (r.ok) {
        this.listWaiters.splice(0).forEach((w) => (w.version <= r.version ? w.resolve() : this.listWaiters.push(w)));
      } else {
        void this.report('allowlist_rejected', { reason: r.reason });
      }
    } else if (t.leaf === 'cmd') {
      const r = this.controller.acceptCommand(payload);
      if (r.ok) {
        this.commandLog.push({ ok: true, commandId: r.command.commandId, action: r.command.action });
        void this.report('command_done', { commandId: r.command.commandId });
        void this.publishState();
      } else {
        this.commandLog.push({ ok: false, reason: r.reason, ...(r.commandId === undefined ? {} : { commandId: r.commandId }) });
        void this.report('command_rejected', { reason: r.reason, ...(r.commandId === undefined ? {} : { commandId: r.commandId }) });
      }
    }
  }

  /** Resolves once an allow-list of at least this version is held. */
  waitForAllowList(version = 1): Promise<void> {
    if (this.controller.allowListVersion >= version) return Promise.resolve();
    return new Promise((resolve) => this.listWaiters.push({ version, resolve }));
  }

  /**
   * Someone types a PIN or shows a card. On line: ask the server (and wait
   * up to `timeoutMs` for the answer); off line, or no answer in time: decide
   * from the allow-list.
   */
  async present(method: CredentialMethod, secret: string, options: { timeoutMs?: number; requestId?: string; at?: number } = {}): Promise<Presented> {
    if (!this.client.connected) return this.offline(method, secret);
    const requestId = options.requestId ?? `${this.idPrefix}${(++this.seq).toString(36)}`;
    const answer = new Promise<Presented | undefined>((resolve) => {
      this.pending.set(requestId, resolve);
      if (options.timeoutMs !== undefined) {
        setTimeout(() => {
          if (this.pending.delete(requestId)) resolve(undefined);
        }, options.timeoutMs).unref();
      }
    });
    const body = { requestId, method, ...(method === 'pin' ? { pin: secret } : { card: secret }), at: options.at ?? this.controller.now() };
    this.client.publish(this.tree.authRequest(this.siteId, this.doorId), JSON.stringify(body), { qos: 0 });
    const online = await answer;
    return online ?? this.offline(method, secret);
  }

  /** Sends an auth request as is (for hostile-input tests) and waits for the answer. */
  async rawRequest(payload: string, requestId: string): Promise<Record<string, unknown>> {
    const answer = new Promise<Record<string, unknown>>((resolve) => {
      this.pending.set(requestId, (p) => resolve(p as unknown as Record<string, unknown>));
    });
    this.client.publish(this.tree.authRequest(this.siteId, this.doorId), payload, { qos: 0 });
    return answer;
  }

  private async offline(method: CredentialMethod, secret: string): Promise<Presented> {
    const d = await this.controller.decideOffline(method, secret);
    return {
      granted: d.granted,
      reason: d.reason,
      mode: 'offline',
      ...(d.credentialId === undefined ? {} : { credentialId: d.credentialId }),
      ...(d.until === undefined ? {} : { until: d.until }),
    };
  }

  async report(type: string, extra: Record<string, unknown> = {}): Promise<void> {
    if (!this.client.connected) return;
    await this.client.publishAsync(this.tree.doorEvents(this.siteId, this.doorId), JSON.stringify({ type, at: this.controller.now(), ...extra }), { qos: 1 });
  }

  async publishState(state: 'LOCKED' | 'UNLOCKED' | 'OPEN' | 'JAMMED' = this.controller.lockState()): Promise<void> {
    if (!this.client.connected) return;
    await this.client.publishAsync(
      this.tree.doorState(this.siteId, this.doorId),
      JSON.stringify({ state, online: true, allowListVersion: this.controller.allowListVersion }),
      { qos: 1, retain: true },
    );
  }

  /** Loses the network without a goodbye (the broker publishes the last will) and stays off line. */
  cutOff(): Promise<void> {
    this.client.options.reconnectPeriod = 0;
    const closed = new Promise<void>((resolve) => this.client.once('close', () => resolve()));
    this.client.stream.destroy();
    return closed;
  }

  /** The network is back: reconnect (and report what was decided off line). */
  reconnect(): Promise<void> {
    this.client.options.reconnectPeriod = 1000;
    const connected = new Promise<void>((resolve) => this.client.once('connect', () => resolve()));
    this.client.reconnect();
    return connected;
  }

  async close(): Promise<void> {
    for (const resolve of this.pending.values()) resolve({ granted: false, reason: 'unknown_door', mode: 'online' });
    this.pending.clear();
    if (this.client.connected) {
      await this.client.publishAsync(this.tree.doorState(this.siteId, this.doorId), JSON.stringify({ state: 'UNKNOWN', online: false }), { qos: 1, retain: true }).catch(() => undefined);
    }
    await this.client.endAsync(true).catch(() => undefined);
  }
}

export class SimSensor {
  private constructor(
    readonly client: MqttClient,
    readonly credentials: DeviceCredentials & { spaceId: string },
    readonly tree: TopicTree,
  ) {}

  static async connect(credentials: DeviceCredentials & { spaceId: string }, options: SimOptions): Promise<SimSensor> {
    const tree = options.tree ?? new TopicTree();
    const status = tree.deviceStatus(credentials.siteId, credentials.deviceId);
    const client = await connect(options.url, {
      clientId: credentials.deviceId,
      username: credentials.deviceId,
      password: credentials.secret,
      will: { topic: status, payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
      ...options.mqtt,
    });
    await client.publishAsync(status, '{"online":true}', { qos: 1, retain: true });
    return new SimSensor(client, credentials, tree);
  }

  /** Publishes a reading as is: `{"occupancy":true}`, `{"people_count":3}`, ... */
  async report(reading: Record<string, unknown>): Promise<void> {
    await this.client.publishAsync(this.tree.occupancy(this.credentials.siteId, this.credentials.spaceId), JSON.stringify(reading), { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
  }
}

export class SimCabinet {
  private constructor(
    readonly client: MqttClient,
    readonly credentials: DeviceCredentials & { cabinetId: string },
    readonly tree: TopicTree,
  ) {}

  static async connect(credentials: DeviceCredentials & { cabinetId: string }, options: SimOptions): Promise<SimCabinet> {
    const tree = options.tree ?? new TopicTree();
    const status = tree.deviceStatus(credentials.siteId, credentials.deviceId);
    const client = await connect(options.url, {
      clientId: credentials.deviceId,
      username: credentials.deviceId,
      password: credentials.secret,
      will: { topic: status, payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
      ...options.mqtt,
    });
    await client.publishAsync(status, '{"online":true}', { qos: 1, retain: true });
    return new SimCabinet(client, credentials, tree);
  }

  async keyTaken(keyId: string, credential?: { method: CredentialMethod; pin?: string; card?: string }): Promise<void> {
    await this.send({ type: 'key_taken', keyId, ...(credential === undefined ? {} : { credential }) });
  }

  async keyReturned(keyId: string): Promise<void> {
    await this.send({ type: 'key_returned', keyId });
  }

  private async send(body: Record<string, unknown>): Promise<void> {
    await this.client.publishAsync(this.tree.keyEvents(this.credentials.siteId, this.credentials.cabinetId), JSON.stringify(body), { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
  }
}

/** Connects many devices in batches, so a loopback listener is not flooded with SYNs at once. */
export async function connectInBatches<T, D>(items: readonly D[], batchSize: number, open: (item: D) => Promise<T>, onProgress?: (done: number) => void): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < items.length; i += batchSize) {
    out.push(...(await Promise.all(items.slice(i, i + batchSize).map(open))));
    onProgress?.(out.length);
  }
  return out;
}

// --- a day of reservations --------------------------------------------------------

export interface ScenarioBooking {
  doorId: string;
  spaceId: string;
  pin: string;
  start: number;
  end: number;
}

export interface ScenarioResult {
  arrivals: number;
  granted: number;
  denied: number;
  noShows: number;
  unbookedUses: number;
  occupancyReadings: number;
}

/**
 * Plays bookings against locks and sensors: each booked customer arrives
 * within the first minutes of the window and types the PIN (a share never
 * comes: a no-show), the space's sensor reports occupancy while they are in;
 * a share of spaces sees unbooked use (a sensor says occupied, nobody opened
 * with a code). `advance(t)` moves the shared clock.
 */
export async function runScenario(options: {
  bookings: readonly ScenarioBooking[];
  locks: ReadonlyMap<string, SimLock>;
  sensors: ReadonlyMap<string, SimSensor>;
  advance: (t: number) => void;
  seed?: number;
  noShowShare?: number;
  unbookedShare?: number;
}): Promise<ScenarioResult> {
  const rng = createRng(options.seed ?? 7);
  const result: ScenarioResult = { arrivals: 0, granted: 0, denied: 0, noShows: 0, unbookedUses: 0, occupancyReadings: 0 };
  const sorted = [...options.bookings].sort((a, b) => a.start - b.start);
  for (const b of sorted) {
    const lock = options.locks.get(b.doorId);
    const sensor = options.sensors.get(b.spaceId);
    if (rng.chance(options.noShowShare ?? 0.1)) {
      result.noShows++;
      continue;
    }
    options.advance(b.start - 5 * 60_000 + rng.int(10 * 60_000));
    result.arrivals++;
    const answer = lock === undefined ? undefined : await lock.present('pin', b.pin);
    if (answer?.granted === true) {
      result.granted++;
      await lock?.report('opened');
      await lock?.report('closed');
      if (sensor !== undefined) {
        await sensor.report({ occupancy: true });
        await sensor.report({ people_count: 1 + rng.int(20) });
        result.occupancyReadings += 2;
      }
      options.advance(b.end);
      if (sensor !== undefined) {
        await sensor.report({ occupancy: false, people_count: 0 });
        result.occupancyReadings++;
      }
    } else result.denied++;
  }
  for (const [, sensor] of options.sensors) {
    if (!rng.chance(options.unbookedShare ?? 0.05)) continue;
    result.unbookedUses++;
    await sensor.report({ presence: true });
    await sensor.report({ presence: false });
    result.occupancyReadings += 2;
  }
  return result;
}
