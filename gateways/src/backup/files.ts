/**
 * What a backup of DATA_DIR holds, shared by backup.ts and restore.ts.
 *
 * SQLite databases are copied with SQLite's online backup API (consistent
 * while the service writes), in this order: the read models and the gateway
 * database first, the event store last. Each copy is one consistent moment;
 * taking the event store last means every idempotency record, outbox message
 * and projection checkpoint in the backup refers to events the backed-up
 * store has (projections catch up from their checkpoint after a restore).
 * The access-control secrets are plain files: without the pepper no device
 * secret or door code in the store can be checked again.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';

export const MANIFEST = 'manifest.json';
export const EVENT_STORE_FILE = 'vuoro.sqlite';
export const GATEWAY_DB_FILE = 'gateway.sqlite';
export const PROJECTIONS_DB_FILE = 'projections.sqlite';
export const PEPPER_FILE = 'access-pepper';
export const SIGNING_KEY_FILE = 'access-signing-key.pem';

export const BACKUP_FORMAT = 1;

const fileEntry = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/),
  kind: z.enum(['sqlite', 'secret']),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  createdAt: z.string(),
  /** Copied in this order; restore writes them back under these names. */
  files: z.array(fileEntry),
  /** The backed-up event store: its last position and event count (absent when STORE is not sqlite). */
  eventStore: z.object({ head: z.number().int().min(0), events: z.number().int().min(0) }).optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestFile = z.infer<typeof fileEntry>;

export type BackupErrorCode =
  | 'BACKUP_TARGET_NOT_EMPTY'
  | 'BACKUP_SOURCE_MISSING'
  | 'BACKUP_CORRUPT_COPY'
  | 'RESTORE_TARGET_NOT_EMPTY'
  | 'RESTORE_NOT_A_BACKUP'
  | 'RESTORE_CORRUPT_BACKUP'
  | 'RESTORE_STORE_MISMATCH';

/** A backup or restore refused; `code` is stable, the message says what to do. */
export class BackupError extends Error {
  constructor(
    readonly code: BackupErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BackupError';
  }
}

export const sha256File = (file: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });

/** The entries of a directory, or [] when it does not exist. */
export async function entriesOf(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export const nameOf = (file: string): string => basename(file);

/** Reports a BackupError as `error <CODE>: <message>` and exits 1 (2 for usage). */
export function runCli(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof BackupError) process.stderr.write(`error ${error.code}: ${error.message}\n`);
    else process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
