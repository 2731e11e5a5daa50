/**
 * `startMqttGateway(deps)`: access control and its MQTT gateway, started from
 * the composition root (main.ts) next to the HTTP service.
 *
 *   const mqtt = await startMqttGateway({ store, log: app.log.child({ component: 'mqtt' }) });
 *   // HTTP: app.register(accessPlugin, { access: mqtt.access, doorCodes: outboxDoorCodes(db, app.vuoro.outbox) })
 *   // shutdown: await mqtt.close()   (before the store is closed)
 *
 * Embedded mode (default) runs an aedes broker on MQTT_PORT (1884) and, with
 * a certificate, a TLS listener; external mode connects to MQTT_URL (e.g.
 * the local Mosquitto on 1883), whose ACL file then confines devices.
 */
import { randomUUID } from 'node:crypto';
import {
  AccessControl,
  TopicTree,
  loadOrCreatePepper,
  loadOrCreateSigner,
  type AccessControlOptions,
  type AccessLogger,
  type PublicJwk,
  type Signer,
} from '@vuoro/access-control';
import type { EventStore } from '@vuoro/engine';
import type { Registry } from 'prom-client';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { readMqttConfig, type MqttConfig } from './config.js';
import { DeviceAuth } from './device-auth.js';
import { MqttGateway } from './gateway.js';
import { MqttMetrics } from './metrics.js';
import { RateLimitedLog } from './log.js';
import { ClientTransport, EmbeddedTransport, type MqttTransport } from './transport.js';

export interface MqttGatewayDeps {
  store: EventStore;
  log: AccessLogger;
  /** Where MQTT_* and ACCESS_* are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Overrides of the configuration read from `env`. */
  config?: Partial<MqttConfig>;
  clock?: () => number;
  /** Server secrets; read from (or created in) the configured files when not given. */
  pepper?: Buffer;
  signer?: Signer;
  /** Further options of access control (tests: a faster KDF, no timer). */
  access?: Partial<AccessControlOptions>;
  /** Wraps the embedded broker's device hooks (the benchmark adds its echo topics). */
  wrapHooks?: (hooks: ReturnType<DeviceAuth['hooks']>) => ReturnType<DeviceAuth['hooks']>;
  /** The service's prom-client registry: device, door and command metrics go there (metrics.ts). */
  registry?: Registry;
}

export interface RunningMqttGateway {
  access: AccessControl;
  mode: MqttConfig['MQTT_MODE'];
  gateway: MqttGateway | undefined;
  broker: EmbeddedBroker | undefined;
  deviceAuth: DeviceAuth | undefined;
  tree: TopicTree;
  log: RateLimitedLog;
  /** Where devices connect: mqtt://host:port (and mqtts:// with TLS). */
  urls: string[];
  /** The keys locks must pin to verify allow-lists and commands. */
  trustedKeys: PublicJwk[];
  close(): Promise<void>;
}

export async function startMqttGateway(deps: MqttGatewayDeps): Promise<RunningMqttGateway> {
  const config: MqttConfig = { ...readMqttConfig(deps.env ?? process.env), ...deps.config };
  const pepper = deps.pepper ?? (await loadOrCreatePepper(config.ACCESS_PEPPER_FILE)).pepper;
  let signer = deps.signer;
  if (signer === undefined) {
    const loaded = await loadOrCreateSigner(config.ACCESS_SIGNING_KEY_FILE);
    signer = loaded.signer;
    if (loaded.created) deps.log.warn({ kid: signer.kid, file: config.ACCESS_SIGNING_KEY_FILE }, 'created the access-control signing key; locks pin its public key');
  }
  const ttlMs = config.ACCESS_ALLOWLIST_TTL_HOURS * 3_600_000;
  const access = await AccessControl.open({
    store: deps.store,
    pepper,
    signer,
    log: deps.log,
    kdf: { alg: 'pbkdf2-sha256', iterations: config.ACCESS_KDF_ITERATIONS },
    pinDigits: config.ACCESS_PIN_DIGITS,
    planner: { leadMs: config.ACCESS_LEAD_MINUTES * 60_000, graceMs: config.ACCESS_GRACE_MINUTES * 60_000 },
    allowList: { ttlMs, horizonMs: ttlMs, refreshMs: ttlMs / 8 },
    commandTtlSeconds: config.ACCESS_COMMAND_TTL_SECONDS,
    maxSkewMs: config.ACCESS_MAX_SKEW_SECONDS * 1000,
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    ...deps.access,
  });
  const tree = new TopicTree(config.MQTT_TOPIC_PREFIX);
  const log = new RateLimitedLog(deps.log);
  let broker: EmbeddedBroker | undefined;
  let deviceAuth: DeviceAuth | undefined;
  let transport: MqttTransport | undefined;
  let disconnect: ((deviceId: string, reason: string) => void) | undefined;
  const urls: string[] = [];
  try {
    if (config.MQTT_MODE === 'embedded') {
      deviceAuth = new DeviceAuth(access, tree, log);
      broker = await startEmbeddedBroker({
        host: config.MQTT_HOST,
        port: config.MQTT_PORT,
        maxPacketBytes: config.MQTT_MAX_PACKET_BYTES,
        hooks: deps.wrapHooks === undefined ? deviceAuth.hooks() : deps.wrapHooks(deviceAuth.hooks()),
        log: deps.log,
        ...(config.MQTT_TLS_PORT === undefined || config.MQTT_TLS_CERT_FILE === undefined || config.MQTT_TLS_KEY_FILE === undefined
          ? {}
          : {
              tls: {
                port: config.MQTT_TLS_PORT,
                certFile: config.MQTT_TLS_CERT_FILE,
                keyFile: config.MQTT_TLS_KEY_FILE,
                ...(config.MQTT_TLS_CA_FILE === undefined ? {} : { caFile: config.MQTT_TLS_CA_FILE }),
              },
            }),
      });
      const aedes = broker.aedes;
      aedes.on('clientReady', (client) => access.deviceConnectivity(client.id, true, 'connected'));
      aedes.on('clientDisconnect', (client) => access.deviceConnectivity(client.id, false, 'disconnected'));
      aedes.on('keepaliveTimeout', (client) => access.deviceConnectivity(client.id, false, 'keepalive timeout'));
      const clients = (aedes as unknown as { clients: Record<string, { close(): void } | undefined> }).clients;
      disconnect = (deviceId, reason) => {
        const client = clients[deviceId];
        if (client === undefined) return;
        deps.log.info({ deviceId, reason }, 'disconnecting device');
        client.close();
      };
      transport = new EmbeddedTransport(aedes);
      urls.push(`mqtt://${config.MQTT_HOST}:${broker.port}`);
      if (broker.tlsPort !== undefined) urls.push(`mqtts://${config.MQTT_HOST}:${broker.tlsPort}`);
    } else if (config.MQTT_MODE === 'external') {
      transport = await ClientTransport.connect(config.MQTT_URL, {
        clientId: config.MQTT_CLIENT_ID ?? `vuoro-gateway-${randomUUID().slice(0, 8)}`,
        ...(config.MQTT_USERNAME === undefined ? {} : { username: config.MQTT_USERNAME }),
        ...(config.MQTT_PASSWORD === undefined ? {} : { password: config.MQTT_PASSWORD }),
      });
      urls.push(config.MQTT_URL);
    }
  } catch (error) {
    await access.close();
    await broker?.close();
    throw error;
  }
  const metrics = deps.registry === undefined ? undefined : new MqttMetrics(deps.registry, access, deps.clock);
  const gateway =
    transport === undefined
      ? undefined
      : new MqttGateway({ access, transport, tree, log, ...(disconnect === undefined ? {} : { disconnect }), ...(metrics === undefined ? {} : { metrics }) });
  if (deps.registry !== undefined && gateway !== undefined) metrics?.watchGateway(deps.registry, gateway);
  await gateway?.start();
  if (gateway !== undefined) deps.log.info({ mode: config.MQTT_MODE, urls, prefix: tree.prefix }, 'MQTT gateway up');
  return {
    access,
    mode: config.MQTT_MODE,
    gateway,
    broker,
    deviceAuth,
    tree,
    log,
    urls,
    trustedKeys: access.trustedKeys,
    async close() {
      await access.close();
      await gateway?.close();
      await broker?.close();
    },
  };
}

export { readMqttConfig, type MqttConfig } from './config.js';
export { MqttGateway } from './gateway.js';
export { MqttMetrics, MQTT_METRIC_NAMES } from './metrics.js';
export { DeviceAuth } from './device-auth.js';
export { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
export { ClientTransport, EmbeddedTransport, type MqttTransport } from './transport.js';
export { PacketGuard, PacketTooLargeError } from './packet-guard.js';
