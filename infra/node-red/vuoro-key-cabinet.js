// @ts-check
/**
 * vuoro-key-cabinet: a vendor key cabinet's "key taken" / "key returned"
 * messages to Vuoro's `sites/{site}/keys/{cabinet}/events` (the config node's
 * device must be the key cabinet provisioned for that cabinet).
 */
'use strict';

const { CODES } = require('./lib/errors');
const { cabinetMapping, keyEventMessage } = require('./lib/cabinet');
const { configOf, idProblem, misconfigured, report, showConnection } = require('./lib/node-kit');

/** @param {import('./lib/node-red').NodeAPI} RED */
module.exports = function register(RED) {
  /** @this {import('./lib/node-red').Node} @param {import('./lib/node-red').NodeDef} def */
  function VuoroKeyCabinet(def) {
    RED.nodes.createNode(this, def);
    setUp(this, def);
  }

  /** @param {import('./lib/node-red').Node} node @param {import('./lib/node-red').NodeDef} def */
  function setUp(node, def) {
    const s = (/** @type {unknown} */ v) => (typeof v === 'string' ? v : undefined);
    const c = configOf(RED, node, def.vuoro, { needsMqtt: true });
    const cabinetId = typeof def.cabinetId === 'string' ? def.cabinetId.trim() : '';
    const mapping = cabinetMapping({ event: s(def.eventProperty), key: s(def.keyProperty), pin: s(def.pinProperty), card: s(def.cardProperty), eventMap: def.eventMap, keyMap: def.keyMap });
    const problem = !c.ok ? c.message : (idProblem(cabinetId, 'cabinet id') ?? (mapping.ok ? undefined : mapping.message));
    if (!c.ok || !mapping.ok || problem !== undefined || c.config.connection === undefined || c.config.tree === undefined) return misconfigured(node, problem ?? 'invalid settings');
    const { connection: conn, tree, siteId, deviceId } = c.config;
    const topic = tree.keyEvents(siteId, cabinetId);
    const status = tree.deviceStatus(siteId, deviceId);

    conn.register(node.id, {
      will: { topic: status, payload: '{"online":false}', retain: true },
      onConnect: () => void conn.publish(status, '{"online":true}', { retain: true }).catch(() => undefined),
    });
    const stop = showConnection(node, conn);

    node.on('input', (msg, send, done) => {
      const r = keyEventMessage(msg.payload, mapping.value);
      if (!r.ok) {
        report(node, r.code, r.message, msg);
        return done();
      }
      if (!conn.connected) {
        report(node, CODES.NOT_CONNECTED, 'not connected to the Vuoro broker; the key event was not delivered', msg);
        return done();
      }
      conn.publish(topic, JSON.stringify(r.value)).then(
        () => {
          // Forwarded without the credential: a PIN has no business further down the flow.
          const { credential: _credential, ...shown } = r.value;
          send({ ...msg, topic, payload: shown });
          done();
        },
        (/** @type {Error} */ e) => {
          report(node, CODES.NOT_CONNECTED, `the key event was not delivered: ${e.message}`, msg);
          done();
        },
      );
    });

    node.on('close', (_removed, done) => {
      stop();
      conn.deregister(node.id);
      done();
    });
  }

  RED.nodes.registerType('vuoro-key-cabinet', VuoroKeyCabinet);
};
