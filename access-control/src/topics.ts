/**
 * The MQTT topic tree (DESIGN.md "Access control and the MQTT gateway"), all
 * under a prefix (`vuoro/v1` by default; tests on a shared broker use a
 * unique one):
 *
 *   sites/{site}/doors/{door}/state          retained, lock -> all: LOCKED | UNLOCKED | OPEN | JAMMED, online (LWT)
 *   sites/{site}/doors/{door}/cmd            server -> lock: signed unlock | lock | open with id and expiry
 *   sites/{site}/doors/{door}/auth/req       lock -> server: credential presented, request id
 *   sites/{site}/doors/{door}/auth/res/{id}  server -> lock: grant/deny, reason, until
 *   sites/{site}/doors/{door}/allowlist      retained, server -> lock: signed, time-windowed credentials
 *   sites/{site}/doors/{door}/events         lock -> server: opened, closed, forced, held_open, granted, denied, ...
 *   sites/{site}/keys/{cabinet}/events       key cabinet -> server: key_taken, key_returned
 *   sites/{site}/spaces/{space}/occupancy    sensor -> server: occupied and/or people count
 *   sites/{site}/devices/{device}/status     retained, cabinets and sensors: online (LWT)
 *
 * Every id in a topic is an id (`[A-Za-z0-9_-]`), so no level can smuggle in
 * `/`, `+` or `#`.
 */
import { ID_PATTERN } from '@vuoro/engine';

export const DEFAULT_TOPIC_PREFIX = 'vuoro/v1';

export type DoorLeaf = 'state' | 'cmd' | 'auth_req' | 'auth_res' | 'allowlist' | 'events';

export type ParsedTopic =
  | { kind: 'door'; siteId: string; doorId: string; leaf: DoorLeaf; requestId?: string }
  | { kind: 'key_cabinet'; siteId: string; cabinetId: string; leaf: 'events' }
  | { kind: 'occupancy'; siteId: string; spaceId: string }
  | { kind: 'device_status'; siteId: string; deviceId: string };

/** Request ids travel in a topic level: short and safe. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;

export class TopicTree {
  readonly prefix: string;
  private readonly levels: number;

  constructor(prefix: string = DEFAULT_TOPIC_PREFIX) {
    if (prefix === '' || prefix.startsWith('/') || prefix.endsWith('/') || /[+#\0]/.test(prefix) || prefix.startsWith('$')) {
      throw new RangeError(`topic prefix '${prefix}' must be non-empty, without wildcards, '$' or leading/trailing '/'`);
    }
    this.prefix = prefix;
    this.levels = prefix.split('/').length;
  }

  private site(siteId: string): string {
    return `${this.prefix}/sites/${siteId}`;
  }

  door(siteId: string, doorId: string): string {
    return `${this.site(siteId)}/doors/${doorId}`;
  }

  doorState(siteId: string, doorId: string): string {
    return `${this.door(siteId, doorId)}/state`;
  }

  doorCommand(siteId: string, doorId: string): string {
    return `${this.door(siteId, doorId)}/cmd`;
  }

  authRequest(siteId: string, doorId: string): string {
    return `${this.door(siteId, doorId)}/auth/req`;
  }

  authResponse(siteId: string, doorId: string, requestId: string): string {
    return `${this.door(siteId, doorId)}/auth/res/${requestId}`;
  }

  /** The filter a lock subscribes to for its own responses. */
  authResponses(siteId: string, doorId: string): string {
    return `${this.door(siteId, doorId)}/auth/res/+`;
  }

  allowList(siteId: string, doorId: string): string {
    return `${this.door(siteId, doorId)}/allowlist`;
  }

  doorEvents(siteId: string, doorId: string): string {
    return `${this.door(siteId, doorId)}/events`;
  }

  keyEvents(siteId: string, cabinetId: string): string {
    return `${this.site(siteId)}/keys/${cabinetId}/events`;
  }

  occupancy(siteId: string, spaceId: string): string {
    return `${this.site(siteId)}/spaces/${spaceId}/occupancy`;
  }

  deviceStatus(siteId: string, deviceId: string): string {
    return `${this.site(siteId)}/devices/${deviceId}/status`;
  }

  /** The filters the gateway subscribes to (everything devices send). */
  gatewayFilters(): string[] {
    const s = `${this.prefix}/sites/+`;
    return [
      `${s}/doors/+/auth/req`,
      `${s}/doors/+/events`,
      `${s}/doors/+/state`,
      `${s}/keys/+/events`,
      `${s}/spaces/+/occupancy`,
      `${s}/devices/+/status`,
    ];
  }

  /** Reads a concrete topic of the tree; undefined for anything else. */
  parse(topic: string): ParsedTopic | undefined {
    const parts = topic.split('/');
    const p = this.levels;
    if (parts.length < p + 4 || parts.slice(0, p).join('/') !== this.prefix || parts[p] !== 'sites') return undefined;
    const siteId = parts[p + 1] as string;
    const area = parts[p + 2];
    const id = parts[p + 3] as string;
    if (!ID_PATTERN.test(siteId) || !ID_PATTERN.test(id)) return undefined;
    const rest = parts.slice(p + 4);
    switch (area) {
      case 'doors': {
        const leaf = doorLeaf(rest);
        if (leaf === undefined) return undefined;
        return leaf.leaf === 'auth_res'
          ? { kind: 'door', siteId, doorId: id, leaf: 'auth_res', requestId: leaf.requestId }
          : { kind: 'door', siteId, doorId: id, leaf: leaf.leaf };
      }
      case 'keys':
        return rest.length === 1 && rest[0] === 'events' ? { kind: 'key_cabinet', siteId, cabinetId: id, leaf: 'events' } : undefined;
      case 'spaces':
        return rest.length === 1 && rest[0] === 'occupancy' ? { kind: 'occupancy', siteId, spaceId: id } : undefined;
      case 'devices':
        return rest.length === 1 && rest[0] === 'status' ? { kind: 'device_status', siteId, deviceId: id } : undefined;
      default:
        return undefined;
    }
  }
}

function doorLeaf(rest: string[]): { leaf: Exclude<DoorLeaf, 'auth_res'> } | { leaf: 'auth_res'; requestId: string } | undefined {
  if (rest.length === 1) {
    const [leaf] = rest;
    if (leaf === 'state' || leaf === 'cmd' || leaf === 'allowlist' || leaf === 'events') return { leaf };
    return undefined;
  }
  if (rest.length === 2 && rest[0] === 'auth' && rest[1] === 'req') return { leaf: 'auth_req' };
  if (rest.length === 3 && rest[0] === 'auth' && rest[1] === 'res' && REQUEST_ID_PATTERN.test(rest[2] as string)) {
    return { leaf: 'auth_res', requestId: rest[2] as string };
  }
  return undefined;
}
