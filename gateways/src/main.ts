/**
 * Composition root: `npm start` runs Vuoro on embedded defaults (SQLite under
 * ./data, the demo catalogue, a demo API key printed at start). Configuration:
 * see config.ts and gateways/README.md.
 *
 * Shutdown (SIGINT/SIGTERM): stop taking new work, finish the requests and
 * commands in flight, then close the engine (its partitions drain their
 * queues), the event store and the gateway database.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCatalogue, readCatalogueFile, type StoreConfig } from '@vuoro/engine';
import { accessPlugin } from './access/plugin.js';
import { outboxDoorCodes } from './access/door-codes.js';
import { analyticsPlugin, startAnalytics } from './analytics/index.js';
import { buildApp } from './app.js';
import { openEngine } from './cluster/index.js';
import { startMqttGateway } from './mqtt/index.js';
import { ensureAdminKey, rotateDemoKey, DEMO_CHANNEL } from './auth/bootstrap.js';
import { appSettings, readConfig, type Config } from './config.js';
import { Metrics } from './ops/metrics.js';
import { openDb } from './storage/db.js';

function storeConfig(config: Config): StoreConfig {
  switch (config.STORE) {
    case 'memory':
      return { kind: 'memory' };
    case 'nats':
      return { kind: 'nats', servers: config.NATS_URL, replicas: config.NATS_REPLICAS };
    case 'eventstoredb':
      if (config.EVENTSTORE_URL === undefined) throw new Error('STORE=eventstoredb needs EVENTSTORE_URL');
      return { kind: 'eventstoredb', url: config.EVENTSTORE_URL };
    case 'sqlite':
      return { kind: 'sqlite', file: join(config.DATA_DIR, 'vuoro.sqlite'), synchronous: config.SQLITE_SYNCHRONOUS };
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  await mkdir(config.DATA_DIR, { recursive: true });
  const metrics = new Metrics();
  // Alone on the store, or (CLUSTER=true) one of several nodes sharing the partitions: see cluster/index.ts.
  const { store, engine, cluster } = await openEngine(config, storeConfig(config), metrics);
  const db = openDb(join(config.DATA_DIR, 'gateway.sqlite'));
  const app = await buildApp({ engine, db, metrics, settings: appSettings(config) });
  const log = app.log;
  // Read models for analysts (utilization, cost of vacancy, SLA) and the dashboard at /dashboard.
  const analytics = await startAnalytics({
    store,
    dataDir: config.DATA_DIR,
    ...(config.STORE === 'sqlite' ? { storeFile: join(config.DATA_DIR, 'vuoro.sqlite') } : {}),
    onError: (projection, error) => log.error({ err: error, projection }, 'projection failed'),
  });
  await app.register(analyticsPlugin, { ...analytics.plugin, registry: metrics.registry });
  // Doors, key cabinets and sensors: an embedded MQTT broker on 1884 by default (MQTT_* in mqtt/config.ts).
  const mqtt = await startMqttGateway({ store, log: log.child({ component: 'mqtt' }), registry: metrics.registry });
  await app.register(accessPlugin, { access: mqtt.access, doorCodes: outboxDoorCodes(db, app.vuoro.outbox), mqtt: { urls: mqtt.urls, tree: mqtt.tree } });

  if (config.LOAD_CATALOGUE) {
    const report = await loadCatalogue(engine, await readCatalogueFile(config.CATALOGUE_FILE));
    log.info({ applied: report.applied, unchanged: report.unchanged, refused: report.refused }, 'catalogue loaded');
  }
  const admin = ensureAdminKey(app.vuoro.keys);
  if (admin !== undefined) {
    log.warn(`FIRST ADMIN KEY (shown once, store it now): ${admin.secret}  (key id ${admin.keyId}; manage keys with POST /v1/admin/keys)`);
  }
  const demo = config.DEMO_KEYS ? rotateDemoKey(app.vuoro.keys) : undefined;
  if (config.PAYMENT_WEBHOOK_SECRET === undefined) {
    log.warn('PAYMENT_WEBHOOK_SECRET is not set: payment webhooks are refused until it is.');
  }

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing requests and commands in flight');
    try {
      await app.close();
      await mqtt.close();
      await analytics.close();
      await cluster?.node.stop();
      await engine.close();
      await store.close();
      db.close();
      log.info('stopped cleanly');
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  await app.listen({ host: config.HOST, port: config.PORT });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.PORT;
  const base = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  log.info(`Vuoro is up on ${base} (store: ${store.name}, partitions: ${engine.partitions().length}${cluster === undefined ? '' : `, cluster node ${cluster.node.nodeId}`})`);
  log.info(`API docs: ${base}/docs   OpenAPI: ${base}/openapi.json   metrics: ${base}/metrics`);
  if (demo !== undefined) {
    log.info({ keyId: demo.keyId, channel: DEMO_CHANNEL }, `Demo API key (scopes book+staff): ${demo.secret}`);
  }
  // The same, plainly, for whoever reads the terminal (the log lines above are JSON for machines).
  process.stderr.write(
    [
      '',
      `  Vuoro is up on ${base}`,
      `  API docs:      ${base}/docs`,
      ...(admin === undefined ? [] : [`  Admin key:     ${admin.secret}   (shown once)`]),
      ...(demo === undefined
        ? []
        : [
            `  Demo key:      ${demo.secret}   (book + staff, channel ${DEMO_CHANNEL}; a new one each start)`,
            `  Try:           curl -H 'Authorization: Bearer ${demo.secret}' -H 'Vuoro-Customer: cus_alice' '${base}/v1/reservations'`,
          ]),
      '',
    ].join('\n') + '\n',
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
