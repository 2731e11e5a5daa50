// @ts-check
/**
 * Vuoro's MQTT topic tree, as access-control/src/topics.ts builds it (the
 * Node-RED runtime loads plain CommonJS, so it cannot import the TypeScript
 * original; test/topics.unit.spec.ts holds this copy to it, topic by topic).
 *
 *   {prefix}/sites/{site}/doors/{door}/state | cmd | auth/req | auth/res/{id} | events
 *   {prefix}/sites/{site}/keys/{cabinet}/events
 *   {prefix}/sites/{site}/spaces/{space}/occupancy
 *   {prefix}/sites/{site}/devices/{device}/status
 */
'use strict';

const DEFAULT_TOPIC_PREFIX = 'vuoro/v1';
/** Ids in topics: access-control refuses anything else, so no level can carry `/`, `+` or `#`. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/;
const REQUEST_ID_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;

/**
 * @param {string} prefix
 * @returns {string | undefined} why the prefix cannot be used, or undefined
 */
function prefixProblem(prefix) {
  if (prefix === '' || prefix.startsWith('/') || prefix.endsWith('/') || /[+#\0]/.test(prefix) || prefix.startsWith('$')) {
    return `topic prefix '${prefix}' must be non-empty, without wildcards, '$' or leading/trailing '/'`;
  }
  return undefined;
}

class TopicTree {
  /** @param {string} [prefix] */
  constructor(prefix = DEFAULT_TOPIC_PREFIX) {
    const problem = prefixProblem(prefix);
    if (problem !== undefined) throw new RangeError(problem);
    this.prefix = prefix;
  }

  /** @param {string} siteId @param {string} doorId */
  door(siteId, doorId) {
    return `${this.prefix}/sites/${siteId}/doors/${doorId}`;
  }
  /** @param {string} siteId @param {string} doorId */
  doorState(siteId, doorId) {
    return `${this.door(siteId, doorId)}/state`;
  }
  /** @param {string} siteId @param {string} doorId */
  doorCommand(siteId, doorId) {
    return `${this.door(siteId, doorId)}/cmd`;
  }
  /** @param {string} siteId @param {string} doorId */
  authRequest(siteId, doorId) {
    return `${this.door(siteId, doorId)}/auth/req`;
  }
  /** @param {string} siteId @param {string} doorId @param {string} requestId */
  authResponse(siteId, doorId, requestId) {
    return `${this.door(siteId, doorId)}/auth/res/${requestId}`;
  }
  /** @param {string} siteId @param {string} doorId */
  authResponses(siteId, doorId) {
    return `${this.door(siteId, doorId)}/auth/res/+`;
  }
  /** @param {string} siteId @param {string} doorId */
  doorEvents(siteId, doorId) {
    return `${this.door(siteId, doorId)}/events`;
  }
  /** @param {string} siteId @param {string} cabinetId */
  keyEvents(siteId, cabinetId) {
    return `${this.prefix}/sites/${siteId}/keys/${cabinetId}/events`;
  }
  /** @param {string} siteId @param {string} spaceId */
  occupancy(siteId, spaceId) {
    return `${this.prefix}/sites/${siteId}/spaces/${spaceId}/occupancy`;
  }
  /** @param {string} siteId @param {string} deviceId */
  deviceStatus(siteId, deviceId) {
    return `${this.prefix}/sites/${siteId}/devices/${deviceId}/status`;
  }

  /**
   * The request id of an auth response topic of this door, or undefined.
   * @param {string} topic @param {string} siteId @param {string} doorId
   */
  authResponseId(topic, siteId, doorId) {
    const base = `${this.door(siteId, doorId)}/auth/res/`;
    if (!topic.startsWith(base)) return undefined;
    const id = topic.slice(base.length);
    return REQUEST_ID_PATTERN.test(id) ? id : undefined;
  }
}

module.exports = { TopicTree, DEFAULT_TOPIC_PREFIX, ID_PATTERN, REQUEST_ID_PATTERN, prefixProblem };
