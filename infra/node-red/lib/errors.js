// @ts-check
/**
 * Errors a flow can cause, each with a stable code. Nodes report them with
 * `node.error("<code>: <message>", msg)` and put `{code, message}` on
 * `msg.vuoro.error`, so a catch node can switch on the code.
 */
'use strict';

const CODES = /** @type {const} */ ({
  /** The payload is a string or buffer that is not JSON (where JSON was expected). */
  NOT_JSON: 'VUORO_NOT_JSON',
  /** Bigger than a device may send (access-control's MAX_DEVICE_PAYLOAD_BYTES). */
  TOO_LARGE: 'VUORO_PAYLOAD_TOO_LARGE',
  /** A sensor message with no usable occupancy, presence or count. */
  OCCUPANCY_INVALID: 'VUORO_OCCUPANCY_INVALID',
  /** A lock message that is neither a credential, an event nor a state the mapping knows. */
  DOOR_UNRECOGNISED: 'VUORO_DOOR_UNRECOGNISED',
  /** A PIN or card that cannot be valid (wrong length, not digits/hex). */
  CREDENTIAL_INVALID: 'VUORO_CREDENTIAL_INVALID',
  /** No answer from Vuoro to an auth request in time: the lock was told to deny. */
  AUTH_TIMEOUT: 'VUORO_AUTH_TIMEOUT',
  /** Not connected to Vuoro's broker: requests are denied, readings dropped. */
  NOT_CONNECTED: 'VUORO_NOT_CONNECTED',
  /** A door command that failed verification (signature, door, expiry, replay). */
  COMMAND_REJECTED: 'VUORO_COMMAND_REJECTED',
  /** A key cabinet message without a known event or a usable key id. */
  KEY_EVENT_INVALID: 'VUORO_KEY_EVENT_INVALID',
  /** The node's or the config node's settings are unusable. */
  CONFIG_INVALID: 'VUORO_CONFIG_INVALID',
  /** The HTTP API answered with a problem or could not be reached. */
  API_ERROR: 'VUORO_API_ERROR',
  /** An input message to the booking node that asks for nothing it knows. */
  BOOKING_REQUEST_INVALID: 'VUORO_BOOKING_REQUEST_INVALID',
});

/** @typedef {typeof CODES[keyof typeof CODES]} ErrorCode */

class VuoroNodeError extends Error {
  /** @param {ErrorCode} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = 'VuoroNodeError';
    this.code = code;
  }
}

/**
 * @typedef {{ ok: true, value: T } | { ok: false, code: ErrorCode, message: string }} Result
 * @template T
 */

/**
 * @param {ErrorCode} code @param {string} message
 * @returns {{ ok: false, code: ErrorCode, message: string }}
 */
const fail = (code, message) => ({ ok: false, code, message });

/**
 * @template T
 * @param {T} value
 * @returns {{ ok: true, value: T }}
 */
const ok = (value) => ({ ok: true, value });

module.exports = { CODES, VuoroNodeError, fail, ok };
