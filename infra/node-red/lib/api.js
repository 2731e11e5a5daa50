// @ts-check
/**
 * Vuoro's HTTP API as the booking node uses it: GET with the channel's key
 * (`Authorization: Bearer`), problem+json errors turned into a
 * VuoroNodeError with the API's stable code in the message.
 */
'use strict';

const { CODES, VuoroNodeError } = require('./errors');
const { isRecord } = require('./values');

const TIMEOUT_MS = 15_000;

/**
 * @param {{ apiUrl: string, apiKey: string }} conn
 * @param {string} path e.g. `/v1/reservations`
 * @param {Record<string, string | undefined>} [query]
 * @returns {Promise<unknown>}
 */
async function apiGet(conn, path, query = {}) {
  if (conn.apiUrl === '' || conn.apiKey === '') throw new VuoroNodeError(CODES.CONFIG_INVALID, 'the Vuoro config node needs the API URL and an API key');
  const url = new URL(path, conn.apiUrl.endsWith('/') ? conn.apiUrl : `${conn.apiUrl}/`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
  /** @type {Response} */
  let res;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${conn.apiKey}`, accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (e) {
    throw new VuoroNodeError(CODES.API_ERROR, `cannot reach ${url.origin}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const text = await res.text();
  /** @type {unknown} */
  let body;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const p = isRecord(body) ? body : {};
    const code = typeof p.code === 'string' ? p.code : `HTTP_${res.status}`;
    const detail = typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : res.statusText;
    throw new VuoroNodeError(CODES.API_ERROR, `${res.status} ${code} from GET ${url.pathname}: ${detail}`);
  }
  return body;
}

/**
 * Every page of `GET /v1/reservations` for the query (at most `maxPages` of 200).
 * @param {{ apiUrl: string, apiKey: string }} conn
 * @param {Record<string, string | undefined>} query
 * @returns {Promise<import('./booking').Reservation[]>}
 */
async function listReservations(conn, query, maxPages = 20) {
  /** @type {import('./booking').Reservation[]} */
  const out = [];
  /** @type {string | undefined} */
  let cursor;
  for (let page = 0; page < maxPages; page++) {
    const body = await apiGet(conn, '/v1/reservations', { ...query, limit: '200', ...(cursor === undefined ? {} : { cursor }) });
    if (!isRecord(body) || !Array.isArray(body.items)) throw new VuoroNodeError(CODES.API_ERROR, 'GET /v1/reservations answered without items');
    out.push(.../** @type {import('./booking').Reservation[]} */ (body.items));
    if (typeof body.nextCursor !== 'string') return out;
    cursor = body.nextCursor;
  }
  return out;
}

module.exports = { apiGet, listReservations };
