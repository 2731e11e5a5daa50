// @ts-check
/**
 * What every Vuoro node does the same way: find its config node, show the
 * connection in its status, report errors with a stable code.
 */
'use strict';

const { CODES } = require('./errors');
const { ID_PATTERN } = require('./topics');

/**
 * Reports an error a flow can catch: `node.error("<code>: <message>", msg)`
 * with `msg.vuoro.error = {code, message}`.
 * @param {import('./node-red').Node} node
 * @param {import('./errors').ErrorCode} code
 * @param {string} message
 * @param {import('./node-red').NodeMessage} [msg]
 */
function report(node, code, message, msg) {
  if (msg !== undefined) {
    const prev = typeof msg.vuoro === 'object' && msg.vuoro !== null ? msg.vuoro : {};
    msg.vuoro = { ...prev, error: { code, message } };
  }
  node.error(`${code}: ${message}`, msg);
}

/**
 * The node's config node, checked; or a reason it cannot work (shown in its status).
 * @param {import('./node-red').NodeAPI} RED
 * @param {import('./node-red').Node} node
 * @param {unknown} id
 * @param {{ needsMqtt?: boolean, needsApi?: boolean }} needs
 * @returns {{ ok: true, config: import('../vuoro-config').VuoroConfigNode } | { ok: false, message: string }}
 */
function configOf(RED, node, id, needs) {
  const config = /** @type {import('../vuoro-config').VuoroConfigNode | null} */ (typeof id === 'string' && id !== '' ? RED.nodes.getNode(id) : null);
  if (config === null || config === undefined) return { ok: false, message: 'choose a Vuoro config node' };
  if (config.problems.length > 0) return { ok: false, message: `the Vuoro config node: ${config.problems.join('; ')}` };
  if (needs.needsMqtt === true) {
    if (config.siteId === '') return { ok: false, message: 'the Vuoro config node needs the site id' };
    if (config.connection === undefined) return { ok: false, message: 'the Vuoro config node needs the broker URL, device id and device secret' };
  }
  if (needs.needsApi === true && (config.apiUrl === '' || config.apiKey === '')) return { ok: false, message: 'the Vuoro config node needs the API URL and an API key' };
  return { ok: true, config };
}

/**
 * @param {import('./node-red').Node} node @param {string} message
 */
function misconfigured(node, message) {
  node.status({ fill: 'red', shape: 'ring', text: message.slice(0, 60) });
  node.error(`${CODES.CONFIG_INVALID}: ${message}`);
  node.on('input', (msg, _send, done) => {
    report(node, CODES.CONFIG_INVALID, message, msg);
    done();
  });
}

/**
 * Mirrors the connection's state in the node's status; returns a function that stops.
 * @param {import('./node-red').Node} node @param {import('./connection').VuoroConnection} conn
 */
function showConnection(node, conn) {
  /** @param {string} state @param {string | undefined} error */
  const show = (state, error) => {
    if (state === 'connected') node.status({ fill: 'green', shape: 'dot', text: 'connected' });
    else if (state === 'connecting') node.status({ fill: 'yellow', shape: 'ring', text: 'connecting' });
    else if (state === 'error') node.status({ fill: 'red', shape: 'ring', text: (error ?? 'error').slice(0, 60) });
    else node.status({ fill: 'red', shape: 'ring', text: 'disconnected' });
  };
  /** @param {string[]} filters @param {string} why */
  const refused = (filters, why) => node.error(`${CODES.CONFIG_INVALID}: subscription to ${filters.join(', ')} refused: ${why}`);
  conn.on('state', show);
  conn.on('subscribe_refused', refused);
  show(conn.state, conn.lastError);
  return () => {
    conn.off('state', show);
    conn.off('subscribe_refused', refused);
  };
}

/** @param {unknown} v @param {string} what @returns {string | undefined} a problem with the id */
function idProblem(v, what) {
  if (typeof v !== 'string' || v.trim() === '') return `set the ${what}`;
  return ID_PATTERN.test(v.trim()) ? undefined : `the ${what} "${v}" may only have letters, digits, "_" and "-"`;
}

module.exports = { report, configOf, misconfigured, showConnection, idProblem };
