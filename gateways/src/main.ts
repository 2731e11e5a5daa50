/**
 * Composition root: `npm start` runs Vuoro on embedded defaults (SQLite under
 * ./data, the demo catalogue). Configuration: see config.ts and the README.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Engine, loadCatalogue, openStore, readCatalogueFile, type StoreConfig } from '@vuoro/engine';
import { buildApp } from './app.js';
import { readConfig, type Config } from './config.js';

function storeConfig(config: Config): StoreConfig {
  switch (config.STORE) {
    case 'memory':
      return { kind: 'memory' };
    case 'nats':
      return { kind: 'nats', servers: config.NATS_URL };
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
  const store = await openStore(storeConfig(config));
  const engine = await Engine.open({ store, snapshotEvery: config.SNAPSHOT_EVERY });
  const app = await buildApp({ engine, logLevel: config.LOG_LEVEL });
  if (config.LOAD_CATALOGUE) {
    const report = await loadCatalogue(engine, await readCatalogueFile(config.CATALOGUE_FILE));
    app.log.info({ applied: report.applied, unchanged: report.unchanged, refused: report.refused }, 'catalogue loaded');
  }
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing commands in flight');
    await app.close();
    await engine.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await app.listen({ host: config.HOST, port: config.PORT });
  app.log.info(`Vuoro is up on http://${config.HOST}:${config.PORT} (store: ${store.name}, partitions: ${engine.partitions().length})`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
