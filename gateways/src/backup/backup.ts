/**
 * Online backup of a Vuoro data directory (`npm run backup -- --out <dir>`),
 * safe while the service runs: the event store (`vuoro.sqlite`), the gateway
 * database (`gateway.sqlite`), the read models (`projections.sqlite`, or
 * PROJECTIONS_DB) through SQLite's backup API, and the access-control secrets
 * (ACCESS_PEPPER_FILE, ACCESS_SIGNING_KEY_FILE). Each copy is checked with
 * `PRAGMA integrity_check` and recorded in `manifest.json` with its SHA-256;
 * the event store's last position goes there too, for the restore to check.
 * Order and consistency: files.ts. Restore: restore.ts.
 *
 * Reads DATA_DIR, PROJECTIONS_DB and ACCESS_* like the service (vuoro.env).
 * The target directory must be new or empty (BACKUP_TARGET_NOT_EMPTY).
 */
import { copyFile, chmod, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import {
  BACKUP_FORMAT,
  BackupError,
  EVENT_STORE_FILE,
  GATEWAY_DB_FILE,
  MANIFEST,
  PEPPER_FILE,
  PROJECTIONS_DB_FILE,
  SIGNING_KEY_FILE,
  entriesOf,
  runCli,
  sha256File,
  type Manifest,
  type ManifestFile,
} from './files.js';

export interface BackupSource {
  /** SQLite databases in copy order (the event store last); missing ones are skipped. */
  databases: { name: string; path: string }[];
  /** Plain files (secrets); missing ones are skipped. */
  secrets: { name: string; path: string }[];
}

/** Where the service keeps its files, from the same environment it reads. */
export function sourceOf(env: NodeJS.ProcessEnv = process.env): BackupSource {
  const dataDir = env.DATA_DIR ?? './data';
  return {
    databases: [
      { name: PROJECTIONS_DB_FILE, path: env.PROJECTIONS_DB ?? join(dataDir, PROJECTIONS_DB_FILE) },
      { name: GATEWAY_DB_FILE, path: join(dataDir, GATEWAY_DB_FILE) },
      { name: EVENT_STORE_FILE, path: join(dataDir, EVENT_STORE_FILE) },
    ],
    secrets: [
      { name: PEPPER_FILE, path: env.ACCESS_PEPPER_FILE ?? join(dataDir, PEPPER_FILE) },
      { name: SIGNING_KEY_FILE, path: env.ACCESS_SIGNING_KEY_FILE ?? join(dataDir, SIGNING_KEY_FILE) },
    ],
  };
}

const exists = async (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );

/** `PRAGMA integrity_check` of a closed database file: 'ok' or what SQLite found. */
export function integrityOf(file: string): string {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join('; ');
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    db?.close();
  }
}

/** The event store's last position and event count (of a copy). */
export function eventStoreHead(file: string): { head: number; events: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT coalesce(max(position), 0) AS head, count(*) AS events FROM events').get() as { head: number; events: number };
  } finally {
    db.close();
  }
}

export interface BackupResult {
  manifest: Manifest;
  ms: number;
}

export async function backup(source: BackupSource, out: string): Promise<BackupResult> {
  const started = performance.now();
  if ((await entriesOf(out)).length > 0) {
    throw new BackupError('BACKUP_TARGET_NOT_EMPTY', `${out} is not empty: back up into a new or empty directory (one per backup).`);
  }
  const found = [];
  for (const d of source.databases) if (await exists(d.path)) found.push(d);
  if (found.length === 0) {
    throw new BackupError('BACKUP_SOURCE_MISSING', `no Vuoro database at ${source.databases.map((d) => d.path).join(', ')}: set DATA_DIR to the service's data directory.`);
  }
  await mkdir(out, { recursive: true });
  const files: ManifestFile[] = [];
  let eventStore: Manifest['eventStore'];
  for (const d of found) {
    const target = join(out, d.name);
    const partial = `${target}.partial`;
    const db = new Database(d.path, { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 10000');
      // Copy in big steps: SQLite restarts a backup whose source another connection changed between steps.
      await db.backup(partial, { progress: () => 1 << 20 });
    } finally {
      db.close();
    }
    const integrity = integrityOf(partial);
    if (integrity !== 'ok') throw new BackupError('BACKUP_CORRUPT_COPY', `the copy of ${d.path} fails its integrity check (${integrity}): check the disk, then back up again.`);
    // The copy is a WAL database; fold it into one self-contained file.
    const copy = new Database(partial);
    copy.pragma('journal_mode = DELETE');
    copy.close();
    await rename(partial, target);
    if (d.name === EVENT_STORE_FILE) eventStore = eventStoreHead(target);
    files.push({ name: d.name, kind: 'sqlite', bytes: (await stat(target)).size, sha256: await sha256File(target) });
  }
  for (const s of source.secrets) {
    if (!(await exists(s.path))) continue;
    const target = join(out, s.name);
    await copyFile(s.path, target);
    await chmod(target, 0o600);
    files.push({ name: s.name, kind: 'secret', bytes: (await stat(target)).size, sha256: await sha256File(target) });
  }
  const manifest: Manifest = { format: BACKUP_FORMAT, createdAt: new Date().toISOString(), files, ...(eventStore === undefined ? {} : { eventStore }) };
  // Written last: a directory without a manifest is not a backup (a crash mid-way leaves no usable-looking copy).
  await writeFile(join(out, `${MANIFEST}.partial`), `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(join(out, `${MANIFEST}.partial`), join(out, MANIFEST));
  return { manifest, ms: performance.now() - started };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help === true || values.out === undefined) {
    process.stderr.write('usage: npm run backup -- --out <new or empty directory>   (reads DATA_DIR, PROJECTIONS_DB, ACCESS_* like the service)\n');
    process.exit(values.help === true ? 0 : 2);
  }
  const out = resolve(values.out);
  try {
    const { manifest, ms } = await backup(sourceOf(), out);
    process.stdout.write(`${JSON.stringify({ out, ms: Math.round(ms), eventStore: manifest.eventStore, files: manifest.files.map((f) => ({ name: f.name, bytes: f.bytes })) }, null, 2)}\n`);
  } catch (error) {
    // Leave no half-made backup behind, unless the directory held something before.
    if (!(error instanceof BackupError && error.code === 'BACKUP_TARGET_NOT_EMPTY')) await rm(out, { recursive: true, force: true });
    throw error;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runCli(main);
