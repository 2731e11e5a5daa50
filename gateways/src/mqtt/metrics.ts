/**
 * Access control on /metrics: what operators alert on (infra/prometheus/alerts.yml).
 *
 *   vuoro_access_device_online{site_id,device_id,kind}     1 on line, 0 off line or not heard from since start
 *   vuoro_access_door_alerts_total{site_id,door_id,alert}  door_forced, door_held_open, command_rejected, allowlist_rejected
 *   vuoro_access_pin_failures_total{site_id,door_id,mode}  PINs refused, on line (by the gateway) or off line (reported by the lock)
 *   vuoro_access_lockouts_total{site_id,door_id}           doors locked out after repeated failures
 *   vuoro_access_door_commands_total{site_id}              door commands published to locks
 *   vuoro_access_door_command_round_trip_seconds{site_id}  publish to the lock's `command_done` (the SLA's door figure)
 *   vuoro_mqtt_messages_total{outcome}                     device messages the gateway received / refused
 *   vuoro_mqtt_broker_connected                            external mode: 1 while connected to the broker
 *
 * Labels come only from registered doors and devices (never from a topic a
 * device made up), and every registered door's counters exist from the first
 * scrape at 0, so `increase()` sees the first forced door after a restart.
 * Registered on the registry passed in (the service's), like analytics/metrics.ts.
 */
import {
  doorEventMessageSchema,
  parseDevicePayload,
  type AccessControl,
  type AuthOutcome,
  type FlattenedJws,
} from '@vuoro/access-control';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ClientTransport, type MqttTransport } from './transport.js';

/** Every metric name this module registers (alerts.yml is checked against it). */
export const MQTT_METRIC_NAMES = [
  'vuoro_access_device_online',
  'vuoro_access_door_alerts_total',
  'vuoro_access_pin_failures_total',
  'vuoro_access_lockouts_total',
  'vuoro_access_door_commands_total',
  'vuoro_access_door_command_round_trip_seconds',
  'vuoro_mqtt_messages_total',
  'vuoro_mqtt_broker_connected',
] as const;

const DOOR_ALERTS = { forced: 'door_forced', held_open: 'door_held_open', command_rejected: 'command_rejected', allowlist_rejected: 'allowlist_rejected' } as const;
/** Commands not answered within this long are forgotten (far beyond any command's lifetime). */
const PENDING_COMMAND_MS = 10 * 60_000;
const MAX_PENDING_COMMANDS = 50_000;

export class MqttMetrics {
  private readonly doorAlerts: Counter<'site_id' | 'door_id' | 'alert'>;
  private readonly pinFailures: Counter<'site_id' | 'door_id' | 'mode'>;
  private readonly lockouts: Counter<'site_id' | 'door_id'>;
  private readonly commands: Counter<'site_id'>;
  private readonly roundTrip: Histogram<'site_id'>;
  /** commandId -> when it was published. */
  private readonly pending = new Map<string, { siteId: string; at: number }>();

  constructor(
    registry: Registry,
    private readonly access: AccessControl,
    private readonly clock: () => number = Date.now,
  ) {
    const registers = [registry];
    const online = (siteId: string, deviceId: string, doorId: string | undefined): boolean => this.online(siteId, deviceId, doorId);
    // Every registered door's series exist from the first scrape at 0, so the first increment after a start is an increase.
    const doors = (each: (siteId: string, doorId: string) => void): void => {
      for (const siteId of access.siteIds()) {
        const state = access.state(siteId);
        if (state === undefined) continue;
        for (const door of state.doors.values()) if (!door.removed) each(siteId, door.doorId);
      }
    };
    this.doorAlerts = new Counter({
      name: 'vuoro_access_door_alerts_total',
      help: 'Alarms a lock reported, by door and alert (door_forced, door_held_open, command_rejected, allowlist_rejected)',
      labelNames: ['site_id', 'door_id', 'alert'] as const,
      registers,
      collect() {
        doors((site_id, door_id) => {
          for (const alert of Object.values(DOOR_ALERTS)) this.inc({ site_id, door_id, alert }, 0);
        });
      },
    });
    this.pinFailures = new Counter({
      name: 'vuoro_access_pin_failures_total',
      help: 'PINs refused at a door: online (decided by the gateway) or offline (decided by the lock, reported later)',
      labelNames: ['site_id', 'door_id', 'mode'] as const,
      registers,
      collect() {
        doors((site_id, door_id) => {
          this.inc({ site_id, door_id, mode: 'online' }, 0);
          this.inc({ site_id, door_id, mode: 'offline' }, 0);
        });
      },
    });
    this.lockouts = new Counter({
      name: 'vuoro_access_lockouts_total',
      help: 'Doors locked out after repeated failed attempts',
      labelNames: ['site_id', 'door_id'] as const,
      registers,
      collect() {
        doors((site_id, door_id) => this.inc({ site_id, door_id }, 0));
      },
    });
    this.commands = new Counter({
      name: 'vuoro_access_door_commands_total',
      help: 'Door commands (unlock, lock, open) published to locks',
      labelNames: ['site_id'] as const,
      registers,
      collect() {
        for (const site_id of access.siteIds()) this.inc({ site_id }, 0);
      },
    });
    this.roundTrip = new Histogram({
      name: 'vuoro_access_door_command_round_trip_seconds',
      help: 'From publishing a door command to the lock reporting it done (SLA promise: ANALYTICS_DOOR_PROMISE_MS, default 3 s)',
      labelNames: ['site_id'] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30],
      registers,
    });
    new Gauge({
      name: 'vuoro_access_device_online',
      help: 'Per registered device: 1 on line, 0 off line (last will, disconnect) or not heard from since the service started',
      labelNames: ['site_id', 'device_id', 'kind'] as const,
      registers,
      collect() {
        this.reset();
        for (const siteId of access.siteIds()) {
          const state = access.state(siteId);
          if (state === undefined) continue;
          for (const d of state.devices.values()) {
            if (d.decommissioned) continue;
            this.set({ site_id: siteId, device_id: d.deviceId, kind: d.kind }, online(siteId, d.deviceId, d.doorId) ? 1 : 0);
          }
        }
      },
    });
  }

  /** A lock's online state: the newer of its connection (embedded broker, status topic) and its door's retained state (last will). */
  private online(siteId: string, deviceId: string, doorId: string | undefined): boolean {
    const connection = this.access.deviceStatus(deviceId);
    const door = doorId === undefined ? undefined : this.access.doorStatus(siteId, doorId);
    if (connection === undefined) return door?.online ?? false;
    if (door === undefined) return connection.online;
    return door.at >= connection.at ? door.online : connection.online;
  }

  /** The gateway's message counts and, in external mode, its broker connection. */
  watchGateway(registry: Registry, gateway: { readonly stats: { received: number; rejected: number }; readonly transport: MqttTransport }): void {
    new Counter({
      name: 'vuoro_mqtt_messages_total',
      help: 'Device messages the gateway received, and those it refused (bad topic, payload or retain flag)',
      labelNames: ['outcome'] as const,
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ outcome: 'received' }, gateway.stats.received);
        this.inc({ outcome: 'refused' }, gateway.stats.rejected);
      },
    });
    const transport = gateway.transport;
    if (transport instanceof ClientTransport) {
      new Gauge({
        name: 'vuoro_mqtt_broker_connected',
        help: 'External-broker mode: 1 while the gateway is connected to the broker (MQTT_URL)',
        registers: [registry],
        collect() {
          this.set(transport.connected ? 1 : 0);
        },
      });
    }
  }

  /** After the gateway answered an `auth/req`. */
  authDecided(siteId: string, doorId: string, outcome: AuthOutcome): void {
    if (outcome.kind !== 'decided' || outcome.response.reason === 'unknown_door') return;
    const audit = outcome.audit.data;
    if (audit.method === 'pin' && !audit.granted) this.pinFailures.inc({ site_id: siteId, door_id: doorId, mode: 'online' });
    if (outcome.lockout !== undefined) this.lockouts.inc({ site_id: siteId, door_id: doorId });
  }

  /** After access control accepted a lock's `events` message (so the door is registered). */
  doorEvent(siteId: string, doorId: string, payload: Buffer): void {
    const parsed = parseDevicePayload(doorEventMessageSchema, payload);
    if (!parsed.ok) return;
    const m = parsed.value;
    const labels = { site_id: siteId, door_id: doorId };
    if (m.type in DOOR_ALERTS) this.doorAlerts.inc({ ...labels, alert: DOOR_ALERTS[m.type as keyof typeof DOOR_ALERTS] });
    if (m.type === 'denied' && m.offline === true && (m.method ?? 'pin') === 'pin') this.pinFailures.inc({ ...labels, mode: 'offline' });
    if (m.type === 'command_done' && m.commandId !== undefined) {
      const sent = this.pending.get(m.commandId);
      if (sent !== undefined && sent.siteId === siteId) {
        this.pending.delete(m.commandId);
        this.roundTrip.observe({ site_id: siteId }, Math.max(0, this.clock() - sent.at) / 1000);
      }
    }
  }

  /** After a door command was published. */
  commandPublished(siteId: string, jws: FlattenedJws): void {
    this.commands.inc({ site_id: siteId });
    let commandId: unknown;
    try {
      commandId = (JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as { commandId?: unknown }).commandId;
    } catch {
      return;
    }
    if (typeof commandId !== 'string') return;
    const now = this.clock();
    if (this.pending.size >= MAX_PENDING_COMMANDS) {
      // Oldest first (insertion order): drop the forgotten ones, and more if still full.
      for (const [id, p] of this.pending) {
        if (now - p.at <= PENDING_COMMAND_MS && this.pending.size < MAX_PENDING_COMMANDS) break;
        this.pending.delete(id);
      }
    }
    this.pending.set(commandId, { siteId, at: now });
  }
}
