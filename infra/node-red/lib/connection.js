// @ts-check
/**
 * One MQTT connection to Vuoro's broker per config node (= per Vuoro device:
 * the broker lets a device publish and subscribe to its own topics only, and
 * closes the connection on anything else).
 *
 * - Connects when the first node registers (on the next tick, so every node
 *   of a deploy is registered), with the device id as client id and user
 *   name, the secret as password, and the first registered node's last will
 *   (the device's retained "offline" state).
 * - Reconnects on its own; subscriptions are renewed on every connect.
 * - close(): publishes the will's payload itself (a clean disconnect does not
 *   fire the will) and ends the connection, so a redeploy leaves no socket
 *   and no device shown online that is not.
 */
'use strict';

const { EventEmitter } = require('node:events');
const mqtt = require('mqtt');

/**
 * @typedef {{ topic: string, payload: string, retain: boolean }} Will
 * @typedef {{ will?: Will, onConnect?: () => void }} Registration
 * @typedef {(topic: string, payload: Buffer) => void} Handler
 * @typedef {'connecting' | 'connected' | 'disconnected' | 'error' | 'closed'} ConnectionState
 * @typedef {{ brokerUrl: string, deviceId: string, secret: string, reconnectMs?: number, mqttOptions?: import('mqtt').IClientOptions }} ConnectionSettings
 */

/** MQTT topic filter matching (`+` one level, `#` the rest). @param {string} filter @param {string} topic */
function matches(filter, topic) {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

class VuoroConnection extends EventEmitter {
  /** @param {ConnectionSettings} settings */
  constructor(settings) {
    super();
    this.settings = settings;
    /** @type {Map<string, Registration>} */
    this.users = new Map();
    /** @type {Map<string, Map<string, Handler>>} filter -> user id -> handler */
    this.subscriptions = new Map();
    /** @type {import('mqtt').MqttClient | undefined} */
    this.client = undefined;
    /** @type {Will | undefined} */
    this.will = undefined;
    /** @type {ConnectionState} */
    this.state = 'disconnected';
    /** @type {string | undefined} */
    this.lastError = undefined;
    this.closing = false;
    this.scheduled = false;
  }

  get connected() {
    return this.client?.connected === true;
  }

  /** @param {string} userId @param {Registration} [registration] */
  register(userId, registration = {}) {
    this.users.set(userId, registration);
    if (this.will === undefined && registration.will !== undefined) this.will = registration.will;
    if (this.client !== undefined) {
      if (this.connected) registration.onConnect?.();
      return;
    }
    if (this.scheduled || this.closing) return;
    this.scheduled = true;
    setImmediate(() => this.connect());
  }

  /** @param {string} userId */
  deregister(userId) {
    this.users.delete(userId);
    for (const [filter, handlers] of this.subscriptions) {
      handlers.delete(userId);
      if (handlers.size === 0) {
        this.subscriptions.delete(filter);
        if (this.connected) this.client?.unsubscribe(filter);
      }
    }
  }

  /** @param {string} userId @param {string} filter @param {Handler} handler */
  subscribe(userId, filter, handler) {
    let handlers = this.subscriptions.get(filter);
    const fresh = handlers === undefined;
    if (handlers === undefined) {
      handlers = new Map();
      this.subscriptions.set(filter, handlers);
    }
    handlers.set(userId, handler);
    if (fresh && this.connected) this.subscribeOnBroker([filter]);
  }

  /**
   * @param {string} topic @param {string} payload @param {{ retain?: boolean, qos?: 0 | 1 }} [options]
   * @returns {Promise<void>}
   */
  publish(topic, payload, options = {}) {
    const client = this.client;
    if (client === undefined || !client.connected) return Promise.reject(new Error('not connected to the Vuoro broker'));
    return client.publishAsync(topic, payload, { qos: options.qos ?? 1, retain: options.retain ?? false }).then(() => undefined);
  }

  /** @private */
  connect() {
    this.scheduled = false;
    if (this.closing || this.client !== undefined) return;
    const s = this.settings;
    this.setState('connecting');
    const client = mqtt.connect(s.brokerUrl, {
      protocolVersion: 4,
      clientId: s.deviceId,
      username: s.deviceId,
      password: s.secret,
      clean: true,
      // Subscriptions are renewed here on every connect, with their refusals reported.
      resubscribe: false,
      reconnectPeriod: s.reconnectMs ?? 5000,
      connectTimeout: 30_000,
      keepalive: 60,
      ...(this.will === undefined ? {} : { will: { topic: this.will.topic, payload: Buffer.from(this.will.payload), qos: 1, retain: this.will.retain } }),
      ...s.mqttOptions,
    });
    this.client = client;
    client.on('connect', () => {
      this.lastError = undefined;
      this.setState('connected');
      this.subscribeOnBroker([...this.subscriptions.keys()]);
      for (const u of this.users.values()) u.onConnect?.();
    });
    client.on('message', (topic, payload) => {
      for (const [filter, handlers] of this.subscriptions) {
        if (!matches(filter, topic)) continue;
        for (const h of handlers.values()) h(topic, payload);
      }
    });
    client.on('error', (e) => {
      this.lastError = e.message;
      this.setState('error');
    });
    client.on('close', () => {
      if (!this.closing && this.state !== 'error') this.setState('disconnected');
    });
    client.on('offline', () => {
      if (!this.closing && this.state !== 'error') this.setState('disconnected');
    });
  }

  /** @private @param {string[]} filters */
  subscribeOnBroker(filters) {
    if (filters.length === 0 || this.client === undefined) return;
    this.client.subscribe(
      filters.map((f) => f),
      { qos: 1 },
      (err, granted) => {
        if (err) {
          this.emit('subscribe_refused', filters, err.message);
          return;
        }
        const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
        if (refused.length > 0) this.emit('subscribe_refused', refused, 'the broker refused the subscription (is this device allowed these topics?)');
      },
    );
  }

  /** @private @param {ConnectionState} state */
  setState(state) {
    this.state = state;
    this.emit('state', state, this.lastError);
  }

  /** Ends the connection (redeploy, shutdown), saying "offline" on the will's topic first. */
  async close() {
    this.closing = true;
    const client = this.client;
    this.client = undefined;
    this.users.clear();
    this.subscriptions.clear();
    if (client === undefined) return;
    if (client.connected && this.will !== undefined) {
      await Promise.race([
        client.publishAsync(this.will.topic, this.will.payload, { qos: 1, retain: this.will.retain }).catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 2000).unref()),
      ]);
    }
    await Promise.race([client.endAsync(true).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    this.setState('closed');
  }
}

module.exports = { VuoroConnection, matches };
