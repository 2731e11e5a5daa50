/**
 * How the gateway talks MQTT, whichever broker carries it:
 *
 * - `EmbeddedTransport`: in-process with the aedes broker (server-side
 *   subscriptions and publishes, no socket; they bypass the device ACLs,
 *   which are for devices).
 * - `ClientTransport`: an mqtt.js client of an external broker (Mosquitto),
 *   which enforces the device ACLs itself.
 *
 * The gateway's logic (gateway.ts) only sees this interface, so the same
 * code is tested against both.
 */
import type { Aedes, AedesPublishPacket } from 'aedes';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface IncomingMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
  /** The publishing client, when the broker is in this process. */
  clientId?: string;
}

export interface PublishOptions {
  qos: 0 | 1;
  retain: boolean;
}

export interface MqttTransport {
  readonly kind: 'embedded' | 'external';
  subscribe(filters: string[], handler: (message: IncomingMessage) => void): Promise<void>;
  publish(topic: string, payload: Buffer | string, options: PublishOptions): Promise<void>;
  close(): Promise<void>;
}

export class EmbeddedTransport implements MqttTransport {
  readonly kind = 'embedded' as const;
  private readonly subscriptions: { filter: string; deliver: (packet: AedesPublishPacket, cb: () => void) => void }[] = [];

  constructor(private readonly broker: Aedes) {}

  async subscribe(filters: string[], handler: (message: IncomingMessage) => void): Promise<void> {
    for (const filter of filters) {
      const deliver = (packet: AedesPublishPacket, cb: () => void): void => {
        try {
          const clientId = (packet as { clientId?: unknown }).clientId;
          handler({
            topic: packet.topic,
            payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
            retain: packet.retain,
            ...(typeof clientId === 'string' ? { clientId } : {}),
          });
        } finally {
          cb();
        }
      };
      await new Promise<void>((resolve) => this.broker.subscribe(filter, deliver, resolve));
      this.subscriptions.push({ filter, deliver });
    }
  }

  publish(topic: string, payload: Buffer | string, options: PublishOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.broker.publish(
        { cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: options.qos, retain: options.retain, dup: false },
        (error) => (error ? reject(error) : resolve()),
      );
    });
  }

  async close(): Promise<void> {
    for (const { filter, deliver } of this.subscriptions.splice(0)) {
      await new Promise<void>((resolve) => this.broker.unsubscribe(filter, deliver, resolve));
    }
  }
}

export class ClientTransport implements MqttTransport {
  readonly kind = 'external' as const;
  private handler: ((message: IncomingMessage) => void) | undefined;

  private constructor(private readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.handler?.({ topic, payload, retain: packet.retain });
    });
  }

  /** Connects (and keeps reconnecting) to an external broker. */
  static async connect(url: string, options: IClientOptions): Promise<ClientTransport> {
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...options,
    });
    return new ClientTransport(client);
  }

  get connected(): boolean {
    return this.client.connected;
  }

  async subscribe(filters: string[], handler: (message: IncomingMessage) => void): Promise<void> {
    this.handler = handler;
    const granted = await this.client.subscribeAsync(filters.map((f) => ({ topic: f, qos: 1 as const })).reduce<Record<string, { qos: 1 }>>((acc, s) => ({ ...acc, [s.topic]: { qos: s.qos } }), {}));
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length > 0) throw new Error(`the broker refused the gateway's subscriptions: ${refused.join(', ')} (check its ACL for the gateway's user)`);
  }

  async publish(topic: string, payload: Buffer | string, options: PublishOptions): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: options.qos, retain: options.retain });
  }

  async close(): Promise<void> {
    await this.client.endAsync();
  }
}
