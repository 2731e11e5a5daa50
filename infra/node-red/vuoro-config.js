// @ts-check
/**
 * vuoro-config: where Vuoro is (API URL and key; MQTT broker, device id and
 * secret, topic prefix, site) and the one MQTT connection shared by the
 * nodes that use it. One config node per Vuoro device.
 */
'use strict';

const { VuoroConnection } = require('./lib/connection');
const { parseTrustedKeys } = require('./lib/jws');
const { TopicTree, ID_PATTERN, DEFAULT_TOPIC_PREFIX, prefixProblem } = require('./lib/topics');

/**
 * @typedef {import('./lib/node-red').Node & {
 *   apiUrl: string, apiKey: string, siteId: string, deviceId: string, tree: TopicTree | undefined,
 *   trustedKeys: import('./lib/jws').TrustedKeys | undefined, problems: string[],
 *   connection: VuoroConnection | undefined
 * }} VuoroConfigNode
 */

/** @param {import('./lib/node-red').NodeAPI} RED */
module.exports = function register(RED) {
  /** @this {VuoroConfigNode} @param {import('./lib/node-red').NodeDef} def */
  function VuoroConfig(def) {
    RED.nodes.createNode(this, def);
    const str = (/** @type {unknown} */ v) => (typeof v === 'string' ? v.trim() : '');
    const creds = this.credentials ?? {};
    this.apiUrl = str(def.apiUrl);
    this.apiKey = str(creds.apiKey);
    this.siteId = str(def.siteId);
    this.deviceId = str(creds.deviceId);
    /** @type {string[]} */
    const problems = [];
    this.problems = problems;
    if (this.siteId !== '' && !ID_PATTERN.test(this.siteId)) problems.push(`site id "${this.siteId}" may only have letters, digits, "_" and "-"`);
    const prefix = str(def.topicPrefix) || DEFAULT_TOPIC_PREFIX;
    const bad = prefixProblem(prefix);
    if (bad !== undefined) problems.push(bad);
    this.tree = bad === undefined ? new TopicTree(prefix) : undefined;
    const keys = parseTrustedKeys(typeof def.trustedKeys === 'string' ? def.trustedKeys : '');
    if (!keys.ok) problems.push(keys.message);
    this.trustedKeys = keys.ok ? keys.keys : undefined;
    const brokerUrl = str(def.brokerUrl);
    const secret = creds.deviceSecret ?? '';
    this.connection =
      brokerUrl !== '' && this.deviceId !== '' && secret !== ''
        ? new VuoroConnection({ brokerUrl, deviceId: this.deviceId, secret, reconnectMs: Math.max(1000, Number(def.reconnectSeconds ?? 5) * 1000 || 5000) })
        : undefined;
    this.on('close', (_removed, done) => {
      const c = this.connection;
      this.connection = undefined;
      if (c === undefined) return done();
      c.close().then(done, done);
    });
  }

  RED.nodes.registerType('vuoro-config', VuoroConfig, {
    credentials: { apiKey: { type: 'password' }, deviceId: { type: 'text' }, deviceSecret: { type: 'password' } },
  });
};
