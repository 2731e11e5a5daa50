/**
 * Restores a backup made by backup.ts into a data directory
 * (`npm run restore -- --from <backup> --data-dir <dir> [--force]`), with the
 * service stopped (or into a fresh directory a new service will use).
 *
 * Before anything is written: the manifest must be there and readable
 * (RESTORE_NOT_A_BACKUP), every file must match its SHA-256 and every
 * database pass `PRAGMA integrity_check` (RESTORE_CORRUPT_BACKUP). The target
 * must be empty or new unless `--force` (RESTORE_TARGET_NOT_EMPTY); with
 * `--force`, the files the backup brings, and their `-wal`/`-shm`, are
 * replaced and nothing else is touched. After copying, the event store is
 * opened with the engine's own adapter and its last position must be the
 * one recorded at backup time (RESTORE_STORE_MISMATCH).
 *
 * Files go back under their standard names in the data directory; set
 * ACCESS_PEPPER_FILE / ACCESS_SIGNING_KEY_FILE / PROJECTIONS_DB to those
 * paths if the service kept them elsewhere.
 */
import { chmod, copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SqliteEventStore } from '@vuoro/engine';
import { eventStoreHead, integrityOf } from './backup.js';
import { BackupError, EVENT_STORE_FILE, MANIFEST, entriesOf, manifestSchema, runCli, sha256File, type Manifest } from './files.js';

export interface RestoreResult {
  manifest: Manifest;
  /** The restored event store's last position (undefined when the backup has none). */
  head: number | undefined;
  ms: number;
}

async function readManifest(from: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(from, MANIFEST), 'utf8');
  } catch {
    throw new BackupError('RESTORE_NOT_A_BACKUP', `${from} has no ${MANIFEST}: give the directory \`npm run backup\` wrote (an interrupted backup has none).`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BackupError('RESTORE_NOT_A_BACKUP', `${join(from, MANIFEST)} is not JSON: the backup is damaged; use another one.`);
  }
  const manifest = manifestSchema.safeParse(parsed);
  if (!manifest.success) throw new BackupError('RESTORE_NOT_A_BACKUP', `${join(from, MANIFEST)} is not a Vuoro backup manifest (format ${String((parsed as { format?: unknown }).format)}).`);
  return manifest.data;
}

/** Checks a backup without writing anything: checksums and integrity. */
export async function verifyBackup(from: string): Promise<Manifest> {
  const manifest = await readManifest(from);
  for (const f of manifest.files) {
    const file = join(from, f.name);
    const sum = await sha256File(file).catch(() => undefined);
    if (sum === undefined) throw new BackupError('RESTORE_CORRUPT_BACKUP', `${file} is missing: the backup is incomplete; use another one.`);
    if (sum !== f.sha256) throw new BackupError('RESTORE_CORRUPT_BACKUP', `${file} does not match its checksum in the manifest: it was changed or damaged since the backup; use another one.`);
    if (f.kind === 'sqlite') {
      const integrity = integrityOf(file);
      if (integrity !== 'ok') throw new BackupError('RESTORE_CORRUPT_BACKUP', `${file} fails PRAGMA integrity_check (${integrity}); use another backup.`);
    }
  }
  return manifest;
}

export async function restore(from: string, dataDir: string, options: { force?: boolean } = {}): Promise<RestoreResult> {
  const started = performance.now();
  const manifest = await verifyBackup(from);
  const present = await entriesOf(dataDir);
  if (present.length > 0 && options.force !== true) {
    throw new BackupError(
      'RESTORE_TARGET_NOT_EMPTY',
      `${dataDir} is not empty (${present.slice(0, 5).join(', ')}${present.length > 5 ? ', ...' : ''}): restore into a new directory, or stop the service and pass --force to replace its files.`,
    );
  }
  await mkdir(dataDir, { recursive: true });
  for (const f of manifest.files) {
    const target = join(dataDir, f.name);
    // A stale WAL next to a restored database would be replayed into it.
    await Promise.all([rm(`${target}-wal`, { force: true }), rm(`${target}-shm`, { force: true })]);
    const partial = `${target}.restoring`;
    await copyFile(join(from, f.name), partial);
    if (f.kind === 'secret') await chmod(partial, 0o600);
    await rename(partial, target);
  }
  let head: number | undefined;
  if (manifest.eventStore !== undefined) {
    const file = join(dataDir, EVENT_STORE_FILE);
    // The engine's adapter must open it (schema, migrations) and read its last event.
    const store = await SqliteEventStore.open({ file, writer: 'inline' });
    try {
      const last = manifest.eventStore.head === 0 ? [] : await store.readAll({ after: manifest.eventStore.head - 1, limit: 2 });
      head = last.at(-1)?.position ?? 0;
    } finally {
      await store.close();
    }
    const counted = eventStoreHead(file);
    if (head !== manifest.eventStore.head || counted.head !== head || counted.events !== manifest.eventStore.events) {
      throw new BackupError(
        'RESTORE_STORE_MISMATCH',
        `the restored event store ends at position ${head} with ${counted.events} events; the backup recorded ${manifest.eventStore.head} and ${manifest.eventStore.events}. Do not start the service on ${dataDir}; restore another backup.`,
      );
    }
  }
  return { manifest, head, ms: performance.now() - started };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { from: { type: 'string' }, 'data-dir': { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean' } } });
  const dataDir = values['data-dir'] ?? process.env.DATA_DIR;
  if (values.help === true || values.from === undefined || dataDir === undefined) {
    process.stderr.write('usage: npm run restore -- --from <backup dir> --data-dir <dir> [--force]   (--data-dir defaults to DATA_DIR)\n');
    process.exit(values.help === true ? 0 : 2);
  }
  const result = await restore(resolve(values.from), resolve(dataDir), { force: values.force === true });
  process.stdout.write(
    `${JSON.stringify({ dataDir: resolve(dataDir), ms: Math.round(result.ms), head: result.head, files: result.manifest.files.map((f) => f.name), backupCreatedAt: result.manifest.createdAt }, null, 2)}\n`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runCli(main);
