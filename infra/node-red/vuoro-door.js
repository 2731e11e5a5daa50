// @ts-check
/**
 * vuoro-door: a vendor lock on Vuoro's door topics (see lib/door.js for the
 * mapping). The config node's device must be the lock provisioned for this
 * door. One output, to the vendor lock: decisions ("open" / "deny") and
 * verified commands ("unlock" / "lock" / "open"), told apart by
 * `msg.vuoro.kind` ('decision' | 'command').
 *
 * Fail secure: no connection, no answer in time, a malformed answer or a
 * credential that cannot be valid all give "deny", with the reason in
 * `msg.vuoro.reason`. Node-RED keeps no allow-list, so while Vuoro is
 * unreachable nobody gets in through this node.
 */
'use strict';

const { CODES } = require('./lib/errors');
const { authRequest, classifyVendorMessage, decisionOf, doorMapping, newRequestId, verifyDoorCommand } = require('./lib/door');
const { configOf, idProblem, misconfigured, report, showConnection } = require('./lib/node-kit');

/**
 * @typedef {{ msg: import('./lib/node-red').NodeMessage, send: (m: import('./lib/node-red').NodeMessage) => void, done: () => void,
 *   timer: NodeJS.Timeout, method: 'pin' | 'card', vendorRequestId: unknown }} Pending
 */

/** @param {import('./lib/node-red').NodeAPI} RED */
module.exports = function register(RED) {
  /** @this {import('./lib/node-red').Node} @param {import('./lib/node-red').NodeDef} def */
  function VuoroDoor(def) {
    RED.nodes.createNode(this, def);
    setUp(this, def);
  }

  /** @param {import('./lib/node-red').Node} node @param {import('./lib/node-red').NodeDef} def */
  function setUp(node, def) {
    const s = (/** @type {unknown} */ v) => (typeof v === 'string' ? v : undefined);
    const c = configOf(RED, node, def.vuoro, { needsMqtt: true });
    const doorId = typeof def.doorId === 'string' ? def.doorId.trim() : '';
    const mapping = doorMapping({
      pin: s(def.pinProperty),
      card: s(def.cardProperty),
      requestId: s(def.requestIdProperty),
      event: s(def.eventProperty),
      state: s(def.stateProperty),
      contact: s(def.contactProperty),
      eventMap: def.eventMap,
      stateMap: def.stateMap,
      commandMap: def.commandMap,
      grant: def.grant,
      deny: def.deny,
    });
    const timeoutSeconds = def.authTimeout === undefined || def.authTimeout === '' ? 5 : Number(def.authTimeout);
    const problem = !c.ok
      ? c.message
      : (idProblem(doorId, 'door id') ??
        (mapping.ok ? undefined : mapping.message) ??
        (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 && timeoutSeconds <= 60 ? undefined : 'the answer timeout is 0-60 seconds'));
    if (!c.ok || !mapping.ok || problem !== undefined || c.config.connection === undefined || c.config.tree === undefined) return misconfigured(node, problem ?? 'invalid settings');
    const m = mapping.value;
    const { connection: conn, tree, siteId, trustedKeys } = c.config;
    const outTopic = typeof def.outTopic === 'string' && def.outTopic.trim() !== '' ? def.outTopic.trim() : undefined;
    const stateTopic = tree.doorState(siteId, doorId);
    const eventsTopic = tree.doorEvents(siteId, doorId);
    /** @type {Map<string, Pending>} */
    const pending = new Map();
    /** @type {Map<string, number>} */
    const seenCommands = new Map();
    /** The vendor's last reported bolt state, told again on every reconnect. */
    let lastState = 'UNKNOWN';

    /** @param {'grant' | 'deny'} which @param {import('./lib/node-red').NodeMessage} msg */
    const answerPayload = (which, msg) => {
      const type = s(which === 'grant' ? def.grantType : def.denyType) ?? 'str';
      return type === 'str' ? m[which] : RED.util.evaluateNodeProperty(m[which], type, node, msg);
    };

    /**
     * @param {import('./lib/node-red').NodeMessage} msg
     * @param {import('./lib/door').Decision & { requestId?: string }} d
     * @param {{ method?: string, vendorRequestId?: unknown }} extra
     */
    const decided = (msg, d, extra) => {
      const prev = typeof msg.vuoro === 'object' && msg.vuoro !== null ? msg.vuoro : {};
      msg.vuoro = { ...prev, kind: 'decision', ...d, ...extra };
      msg.payload = answerPayload(d.granted ? 'grant' : 'deny', msg);
      if (outTopic !== undefined) msg.topic = outTopic;
      return msg;
    };

    /** @param {string} type @param {Record<string, unknown>} extra */
    const reportEvent = (type, extra = {}) => conn.publish(eventsTopic, JSON.stringify({ type, ...extra })).catch(() => undefined);

    conn.register(node.id, {
      will: { topic: stateTopic, payload: JSON.stringify({ state: 'UNKNOWN', online: false }), retain: true },
      onConnect: () => void conn.publish(stateTopic, JSON.stringify({ state: lastState, online: true }), { retain: true }).catch(() => undefined),
    });
    const stop = showConnection(node, conn);
    if (trustedKeys === undefined || trustedKeys.size === 0) {
      node.warn(`${CODES.CONFIG_INVALID}: no trusted signing keys in the Vuoro config node; remote door commands will be refused (paste GET /v1/access/signing-keys there)`);
    }

    conn.subscribe(node.id, tree.authResponses(siteId, doorId), (topic, payload) => {
      const requestId = tree.authResponseId(topic, siteId, doorId);
      const p = requestId === undefined ? undefined : pending.get(requestId);
      if (requestId === undefined || p === undefined) return;
      pending.delete(requestId);
      clearTimeout(p.timer);
      const d = decisionOf(payload);
      if (d.reason === 'invalid_response') report(node, CODES.API_ERROR, `${d.detail} (request ${requestId})`);
      p.send(decided(p.msg, { ...d, requestId }, { method: p.method, vendorRequestId: p.vendorRequestId }));
      p.done();
    });

    conn.subscribe(node.id, tree.doorCommand(siteId, doorId), (_topic, payload) => {
      if (trustedKeys === undefined) return;
      const r = verifyDoorCommand(payload, { keys: trustedKeys, siteId, doorId, now: Date.now(), seen: seenCommands });
      if (!r.ok) {
        report(node, CODES.COMMAND_REJECTED, `door command refused: ${r.reason}${r.commandId === undefined ? '' : ` (${r.commandId})`}`);
        void reportEvent('command_rejected', { reason: r.reason, ...(r.commandId === undefined ? {} : { commandId: r.commandId }) });
        return;
      }
      const cmd = r.command;
      node.send({
        ...(outTopic === undefined ? {} : { topic: outTopic }),
        payload: m.commandMap[cmd.action] ?? cmd.action,
        vuoro: {
          kind: 'command',
          commandId: cmd.commandId,
          action: cmd.action,
          emergency: cmd.emergency,
          expiresAt: new Date(cmd.expiresAt).toISOString(),
          ...(cmd.durationSeconds === undefined ? {} : { durationSeconds: cmd.durationSeconds }),
        },
      });
      // Handed to the vendor lock: the lock has no way to confirm through this node, so this is the report.
      void reportEvent('command_done', { commandId: cmd.commandId });
    });

    node.on('input', (msg, send, done) => {
      const r = classifyVendorMessage(msg.payload, m);
      if (!r.ok) {
        report(node, r.code, r.message, msg);
        // A credential that cannot be valid is still an answer the person at the door is waiting for.
        if (r.code === CODES.CREDENTIAL_INVALID) send(decided(msg, { granted: false, reason: 'invalid_request', detail: r.message }, {}));
        return done();
      }
      const v = r.value;
      if (v.kind === 'auth') {
        const extra = { method: v.method, vendorRequestId: v.vendorRequestId };
        if (!conn.connected) {
          report(node, CODES.NOT_CONNECTED, 'not connected to the Vuoro broker; denied', msg);
          send(decided(msg, { granted: false, reason: 'not_connected', detail: 'Vuoro is not reachable from Node-RED' }, extra));
          return done();
        }
        const requestId = newRequestId();
        const timer = setTimeout(() => {
          const p = pending.get(requestId);
          if (p === undefined) return;
          pending.delete(requestId);
          const detail = `no answer from Vuoro in ${timeoutSeconds} s; denied (is the gateway running and this device allowed on the door?)`;
          report(node, CODES.AUTH_TIMEOUT, detail, p.msg);
          p.send(decided(p.msg, { granted: false, reason: 'timeout', detail, requestId }, extra));
          p.done();
        }, timeoutSeconds * 1000);
        pending.set(requestId, { msg, send, done, timer, ...extra });
        conn.publish(tree.authRequest(siteId, doorId), JSON.stringify(authRequest(requestId, v.method, v.secret)), { qos: 0 }).catch((/** @type {Error} */ e) => {
          if (!pending.delete(requestId)) return;
          clearTimeout(timer);
          report(node, CODES.NOT_CONNECTED, `the request was not sent: ${e.message}; denied`, msg);
          send(decided(msg, { granted: false, reason: 'not_connected', detail: e.message, requestId }, extra));
          done();
        });
        return;
      }
      if (v.kind === 'state') lastState = v.message.state;
      const [topic, options] = v.kind === 'state' ? [stateTopic, { retain: true }] : [eventsTopic, {}];
      if (!conn.connected) {
        report(node, CODES.NOT_CONNECTED, `not connected to the Vuoro broker; the ${v.kind} was not delivered`, msg);
        return done();
      }
      conn.publish(topic, JSON.stringify(v.message), options).then(
        () => done(),
        (/** @type {Error} */ e) => {
          report(node, CODES.NOT_CONNECTED, `the ${v.kind} was not delivered: ${e.message}`, msg);
          done();
        },
      );
    });

    node.on('close', (_removed, done) => {
      for (const p of pending.values()) {
        clearTimeout(p.timer);
        p.done();
      }
      pending.clear();
      stop();
      conn.deregister(node.id);
      done();
    });
  }

  RED.nodes.registerType('vuoro-door', VuoroDoor);
};
