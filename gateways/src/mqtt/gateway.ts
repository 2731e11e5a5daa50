/**
 * The MQTT side of access control: what devices publish goes to access
 * control, and what access control has for the locks (auth answers,
 * allow-lists, commands) goes out. Broker-agnostic (transport.ts).
 *
 * Every message is dispatched by its topic (`TopicTree.parse`); anything
 * that is not one of the tree's device topics, or is retained where nothing
 * should be retained, is refused with a reason. A refusal, a malformed
 * payload or a bug in one handler never stops the others: each message is
 * handled on its own.
 */
import type { AccessControl, AccessOutbound, FlattenedJws, InputRejection, TopicTree } from '@vuoro/access-control';
import type { RateLimitedLog } from './log.js';
import type { MqttMetrics } from './metrics.js';
import type { IncomingMessage, MqttTransport } from './transport.js';

export interface MqttGatewayOptions {
  access: AccessControl;
  transport: MqttTransport;
  tree: TopicTree;
  log: RateLimitedLog;
  /** Drops a device's connection (embedded broker only). */
  disconnect?: (deviceId: string, reason: string) => void;
  /** Counts what operators alert on (metrics.ts). */
  metrics?: MqttMetrics;
}

export class MqttGateway implements AccessOutbound {
  readonly stats = {
    received: 0,
    authAnswered: 0,
    authDuplicates: 0,
    rejected: 0,
    handlerErrors: 0,
    allowListsPublished: 0,
    commandsPublished: 0,
  };

  constructor(private readonly options: MqttGatewayOptions) {}

  get transport(): MqttTransport {
    return this.options.transport;
  }

  async start(): Promise<void> {
    await this.options.transport.subscribe(this.options.tree.gatewayFilters(), (m) => this.dispatch(m));
    this.options.access.attach(this);
  }

  private refuse(reason: InputRejection | 'retained', m: IncomingMessage, detail: string): void {
    this.stats.rejected++;
    this.options.log.warn(`input_${reason}`, { topic: m.topic.slice(0, 200), clientId: m.clientId, reason, detail }, `MQTT message refused: ${reason}`);
  }

  private dispatch(m: IncomingMessage): void {
    this.stats.received++;
    try {
      this.route(m);
    } catch (error) {
      this.stats.handlerErrors++;
      this.options.log.log.error({ err: error, topic: m.topic.slice(0, 200) }, 'MQTT message handler failed');
    }
  }

  private route(m: IncomingMessage): void {
    const { access, tree } = this.options;
    const t = tree.parse(m.topic);
    if (t === undefined) return this.refuse('unknown_topic', m, 'not a device topic of the tree');
    const retainable = (t.kind === 'door' && t.leaf === 'state') || t.kind === 'device_status';
    // A retained request or event would be replayed to the gateway at every (re)subscription.
    if (m.retain && !retainable) return this.refuse('retained', m, 'only state topics may be retained');
    switch (t.kind) {
      case 'door':
        switch (t.leaf) {
          case 'auth_req':
            return this.answer(t.siteId, t.doorId, m);
          case 'events': {
            const r = access.reportDoorEvent(t.siteId, t.doorId, m.payload);
            if (!r.ok) this.stats.rejected++;
            else this.options.metrics?.doorEvent(t.siteId, t.doorId, m.payload);
            return;
          }
          case 'state': {
            const r = access.reportDoorState(t.siteId, t.doorId, m.payload);
            if (!r.ok) this.stats.rejected++;
            return;
          }
          default:
            return this.refuse('unknown_topic', m, `devices do not publish to ${t.leaf}`);
        }
      case 'key_cabinet':
        void access.reportKeyCabinetEvent(t.siteId, t.cabinetId, m.payload).then((r) => {
          if (!r.ok) this.stats.rejected++;
        });
        return;
      case 'occupancy': {
        const r = access.reportOccupancy(t.siteId, t.spaceId, m.payload, m.clientId);
        if (!r.ok) this.stats.rejected++;
        return;
      }
      case 'device_status': {
        const r = access.reportDeviceStatus(t.siteId, t.deviceId, m.payload);
        if (!r.ok) this.stats.rejected++;
        return;
      }
    }
  }

  private answer(siteId: string, doorId: string, m: IncomingMessage): void {
    const outcome = this.options.access.authorize(siteId, doorId, m.payload);
    if (outcome.kind === 'rejected') this.stats.rejected++;
    if (outcome.kind === 'duplicate') this.stats.authDuplicates++;
    this.options.metrics?.authDecided(siteId, doorId, outcome);
    const response = outcome.response;
    if (response === undefined) return;
    // QoS 0: a lost answer is a retry away, and a retry with the same request id gets the same answer.
    this.options.transport
      .publish(this.options.tree.authResponse(siteId, doorId, response.requestId), JSON.stringify(response), { qos: 0, retain: false })
      .then(
        () => {
          this.stats.authAnswered++;
        },
        (error: unknown) => this.options.log.log.warn({ err: error, siteId, doorId }, 'auth answer not published'),
      );
  }

  // --- AccessOutbound --------------------------------------------------------------

  async allowList(siteId: string, doorId: string, jws: FlattenedJws | null): Promise<void> {
    // An empty retained payload deletes the retained list (the door is gone).
    await this.options.transport.publish(this.options.tree.allowList(siteId, doorId), jws === null ? Buffer.alloc(0) : JSON.stringify(jws), { qos: 1, retain: true });
    this.stats.allowListsPublished++;
  }

  async doorCommand(siteId: string, doorId: string, jws: FlattenedJws): Promise<void> {
    await this.options.transport.publish(this.options.tree.doorCommand(siteId, doorId), JSON.stringify(jws), { qos: 1, retain: false });
    this.stats.commandsPublished++;
    this.options.metrics?.commandPublished(siteId, jws);
  }

  disconnectDevice(deviceId: string, reason: string): void {
    this.options.disconnect?.(deviceId, reason);
  }

  async close(): Promise<void> {
    this.options.access.detach();
    await this.options.transport.close();
  }
}
