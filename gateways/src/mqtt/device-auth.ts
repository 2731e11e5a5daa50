/**
 * Device authentication and authorisation for the embedded broker: the
 * aedes `preConnect`, `authenticate`, `authorizePublish` and
 * `authorizeSubscribe` hooks, backed by the device registry of access
 * control and the ACL policy of `@vuoro/access-control` (devices/acl.ts).
 *
 * - A device connects with username = its device id, password = the secret it
 *   was given once at provisioning, and client id = its device id (so no one
 *   can take over another device's session by reusing its client id).
 * - Its last will must go to its own state topic.
 * - A publish outside its topics (or a retained one where state is not kept,
 *   or a payload over the device limit) is refused: aedes then closes that
 *   client's connection, and the reason is logged. Everyone else is unaffected.
 * - A subscription outside its topics is refused in the SUBACK (granted QoS
 *   128), logged, and delivers nothing.
 */
import {
  MAX_DEVICE_PAYLOAD_BYTES,
  maySubscribe,
  mayWill,
  publishableTopics,
  type AccessControl,
  type DeviceIdentity,
  type TopicTree,
} from '@vuoro/access-control';
import type { AedesOptions, AuthenticateError, Client } from 'aedes';
import type { RateLimitedLog } from './log.js';

export interface DeviceAuthStats {
  connected: number;
  refusedConnects: number;
  refusedPublishes: number;
  refusedSubscriptions: number;
}

type Hooks = Required<Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>>;

const authError = (message: string, returnCode: 4 | 5): AuthenticateError => Object.assign(new Error(message), { returnCode }) as AuthenticateError;

export class DeviceAuth {
  /**
   * Authenticated devices by connection (not by id: a reconnect takes over
   * the id while the old connection closes), with the topics they may
   * publish to, worked out once per connection: every PUBLISH checks them.
   */
  private readonly identities = new WeakMap<Client, DeviceIdentity>();
  private readonly publishable = new WeakMap<Client, Map<string, { retain: boolean }>>();
  readonly stats: DeviceAuthStats = { connected: 0, refusedConnects: 0, refusedPublishes: 0, refusedSubscriptions: 0 };

  constructor(
    private readonly access: AccessControl,
    private readonly tree: TopicTree,
    private readonly log: RateLimitedLog,
    private readonly maxPayloadBytes = MAX_DEVICE_PAYLOAD_BYTES,
  ) {}

  identityOf(client: Client): DeviceIdentity | undefined {
    return this.identities.get(client);
  }

  hooks(): Hooks {
    return {
      preConnect: (_client, _packet, callback) => callback(null, true),

      authenticate: (client, username, password, done) => {
        if (typeof username !== 'string' || password === undefined) {
          this.stats.refusedConnects++;
          this.log.warn('connect_refused', { clientId: client.id, reason: 'no credentials' }, 'MQTT connection refused: no username or password');
          done(authError('device credentials required', 4), false);
          return;
        }
        const device = this.access.authenticateDevice(username, password.toString('utf8'));
        if (device === undefined) {
          this.stats.refusedConnects++;
          this.log.warn('connect_refused', { clientId: client.id, username, reason: 'bad credentials' }, 'MQTT connection refused: unknown device or wrong secret');
          done(authError('bad device credentials', 4), false);
          return;
        }
        if (client.id !== device.deviceId) {
          this.stats.refusedConnects++;
          this.log.warn('connect_refused', { clientId: client.id, username, reason: 'client id differs' }, 'MQTT connection refused: the client id must be the device id');
          done(authError('client id must equal the device id', 5), false);
          return;
        }
        // aedes keeps the CONNECT's will on the client while it authenticates (lib/handlers/connect.js).
        const will = (client as unknown as { _will?: { topic?: unknown } | null })._will;
        if (will !== undefined && will !== null) {
          const verdict = mayWill(this.tree, device, String(will.topic));
          if (!verdict.ok) {
            this.stats.refusedConnects++;
            this.log.warn('connect_refused', { clientId: client.id, reason: verdict.reason }, 'MQTT connection refused: last will not allowed');
            done(authError(verdict.reason, 5), false);
            return;
          }
        }
        this.identities.set(client, device);
        this.publishable.set(client, publishableTopics(this.tree, device));
        done(null, true);
      },

      authorizePublish: (client, packet, callback) => {
        // client is null only for an obsolete will of a client that is gone: it was authorised when it connected.
        if (client === null) return callback(null);
        const topics = this.publishable.get(client);
        const rule = topics?.get(packet.topic);
        const verdict: { ok: true } | { ok: false; reason: string } =
          topics === undefined
            ? { ok: false, reason: 'not an authenticated device' }
            : packet.payload.length > this.maxPayloadBytes
              ? { ok: false, reason: `payload of ${packet.payload.length} bytes; at most ${this.maxPayloadBytes}` }
              : rule === undefined
                ? { ok: false, reason: `${packet.topic}: not one of device ${client.id}'s topics` }
                : packet.retain && !rule.retain
                  ? { ok: false, reason: `${packet.topic}: retained messages are only allowed on state topics` }
                  : { ok: true };
        if (!verdict.ok) {
          this.stats.refusedPublishes++;
          this.log.warn('publish_refused', { clientId: client.id, topic: packet.topic.slice(0, 200), reason: verdict.reason }, 'MQTT publish refused; closing the connection');
          return callback(new Error(verdict.reason));
        }
        callback(null);
      },

      authorizeSubscribe: (client, subscription, callback) => {
        const device = this.identities.get(client);
        const verdict = device === undefined ? { ok: false as const, reason: 'not an authenticated device' } : maySubscribe(this.tree, device, subscription.topic);
        if (!verdict.ok) {
          this.stats.refusedSubscriptions++;
          this.log.warn('subscribe_refused', { clientId: client.id, topic: subscription.topic.slice(0, 200), reason: verdict.reason }, 'MQTT subscription refused');
          callback(null, null);
          return;
        }
        callback(null, subscription);
      },
    };
  }
}
