// @ts-check
/**
 * vuoro-occupancy: any sensor's message in, a Vuoro occupancy reading out on
 * `sites/{site}/spaces/{space}/occupancy` (the config node's device must be
 * the occupancy sensor provisioned for that space). The device's retained
 * status says online while deployed, offline after (last will or close).
 */
'use strict';

const { CODES } = require('./lib/errors');
const { configOf, idProblem, misconfigured, report, showConnection } = require('./lib/node-kit');
const { occupancyMessage, sensorIdProblem } = require('./lib/occupancy');

/** @param {import('./lib/node-red').NodeAPI} RED */
module.exports = function register(RED) {
  /** @this {import('./lib/node-red').Node} @param {import('./lib/node-red').NodeDef} def */
  function VuoroOccupancy(def) {
    RED.nodes.createNode(this, def);
    setUp(this, def);
  }

  /** @param {import('./lib/node-red').Node} node @param {import('./lib/node-red').NodeDef} def */
  function setUp(node, def) {
    const c = configOf(RED, node, def.vuoro, { needsMqtt: true });
    const spaceId = typeof def.spaceId === 'string' ? def.spaceId.trim() : '';
    const sensorId = typeof def.sensorId === 'string' ? def.sensorId.trim() : '';
    const problem = !c.ok ? c.message : (idProblem(spaceId, 'space id') ?? sensorIdProblem(sensorId));
    if (!c.ok || problem !== undefined || c.config.connection === undefined || c.config.tree === undefined) return misconfigured(node, problem ?? 'invalid settings');
    const { connection: conn, tree, siteId, deviceId } = c.config;
    const topic = tree.occupancy(siteId, spaceId);
    const status = tree.deviceStatus(siteId, deviceId);
    const property = typeof def.property === 'string' ? def.property : '';

    conn.register(node.id, {
      will: { topic: status, payload: '{"online":false}', retain: true },
      onConnect: () => void conn.publish(status, '{"online":true}', { retain: true }).catch(() => undefined),
    });
    const stop = showConnection(node, conn);

    node.on('input', (msg, send, done) => {
      const r = occupancyMessage(msg.payload, { property, sensorId });
      if (!r.ok) {
        report(node, r.code, r.message, msg);
        return done();
      }
      if (!conn.connected) {
        // A reading sent late would be dated by the server at arrival: drop it and say so.
        report(node, CODES.NOT_CONNECTED, 'not connected to the Vuoro broker; the reading was dropped', msg);
        return done();
      }
      const body = JSON.stringify(r.value);
      conn.publish(topic, body).then(
        () => {
          send({ ...msg, topic, payload: r.value });
          done();
        },
        (/** @type {Error} */ e) => {
          report(node, CODES.NOT_CONNECTED, `the reading was not delivered: ${e.message}`, msg);
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

  RED.nodes.registerType('vuoro-occupancy', VuoroOccupancy);
};
