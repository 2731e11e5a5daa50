/**
 * What each device may publish and subscribe to: its own topics and nothing
 * else. The embedded broker asks this policy on every CONNECT (will topic),
 * PUBLISH and SUBSCRIBE; with an external broker the same rules are written
 * into the broker's ACL file (infra). Pure: no broker, no network.
 *
 * A lock: publishes its door's state (retained), auth requests and events;
 * subscribes to its door's commands, allow-list and auth responses.
 * A key cabinet: publishes its cabinet's events and its status (retained).
 * An occupancy sensor: publishes its space's occupancy and its status.
 * Nobody else's door, no wildcards beyond a lock's own responses, no `$SYS`,
 * no retained junk on topics that are not state.
 */
import type { DeviceKind } from '../events.js';
import type { TopicTree } from '../topics.js';

export interface DeviceIdentity {
  deviceId: string;
  siteId: string;
  kind: DeviceKind;
  doorId?: string | undefined;
  spaceId?: string | undefined;
  cabinetId?: string | undefined;
}

export type AclVerdict = { ok: true } | { ok: false; reason: string };

const allow: AclVerdict = { ok: true };
const deny = (reason: string): AclVerdict => ({ ok: false, reason });

/** Topics a device may publish to, and whether it may retain there. */
export function publishableTopics(tree: TopicTree, d: DeviceIdentity): Map<string, { retain: boolean }> {
  const out = new Map<string, { retain: boolean }>();
  switch (d.kind) {
    case 'lock':
      if (d.doorId === undefined) break;
      out.set(tree.doorState(d.siteId, d.doorId), { retain: true });
      out.set(tree.authRequest(d.siteId, d.doorId), { retain: false });
      out.set(tree.doorEvents(d.siteId, d.doorId), { retain: false });
      break;
    case 'key_cabinet':
      if (d.cabinetId === undefined) break;
      out.set(tree.keyEvents(d.siteId, d.cabinetId), { retain: false });
      out.set(tree.deviceStatus(d.siteId, d.deviceId), { retain: true });
      break;
    case 'occupancy_sensor':
      if (d.spaceId === undefined) break;
      out.set(tree.occupancy(d.siteId, d.spaceId), { retain: false });
      out.set(tree.deviceStatus(d.siteId, d.deviceId), { retain: true });
      break;
  }
  return out;
}

/** Exact topic filters a device may subscribe to. */
export function subscribableFilters(tree: TopicTree, d: DeviceIdentity): Set<string> {
  const out = new Set<string>();
  if (d.kind === 'lock' && d.doorId !== undefined) {
    out.add(tree.doorCommand(d.siteId, d.doorId));
    out.add(tree.allowList(d.siteId, d.doorId));
    out.add(tree.authResponses(d.siteId, d.doorId));
  }
  return out;
}

/** The topic a device's last will must go to: where its retained online state lives. */
export function willTopicOf(tree: TopicTree, d: DeviceIdentity): string | undefined {
  if (d.kind === 'lock') return d.doorId === undefined ? undefined : tree.doorState(d.siteId, d.doorId);
  return tree.deviceStatus(d.siteId, d.deviceId);
}

export function mayPublish(tree: TopicTree, d: DeviceIdentity, topic: string, retain: boolean): AclVerdict {
  if (topic.startsWith('$')) return deny(`${topic}: '$' topics are reserved for the broker`);
  const rule = publishableTopics(tree, d).get(topic);
  if (rule === undefined) return deny(`${topic}: not one of device ${d.deviceId}'s topics`);
  if (retain && !rule.retain) return deny(`${topic}: retained messages are only allowed on state topics`);
  return allow;
}

export function maySubscribe(tree: TopicTree, d: DeviceIdentity, filter: string): AclVerdict {
  if (subscribableFilters(tree, d).has(filter)) return allow;
  // A lock may also subscribe to one concrete response topic of its own.
  if (d.kind === 'lock' && d.doorId !== undefined) {
    const parsed = tree.parse(filter);
    if (parsed?.kind === 'door' && parsed.leaf === 'auth_res' && parsed.siteId === d.siteId && parsed.doorId === d.doorId) {
      return allow;
    }
  }
  return deny(`${filter}: not one of device ${d.deviceId}'s subscriptions`);
}

export function mayWill(tree: TopicTree, d: DeviceIdentity, topic: string): AclVerdict {
  return willTopicOf(tree, d) === topic ? allow : deny(`will topic ${topic}: a device's will goes to its own state topic`);
}
