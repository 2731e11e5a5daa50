/** Temporary directories for tests that need real files (SQLite, a private nats-server). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  readonly path: string;
  /** A path inside the directory. */
  file(name: string): string;
  /** Deletes the directory and everything in it. */
  remove(): Promise<void>;
}

export const tempDir = async (prefix = 'vuoro-'): Promise<TempDir> => {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    file: (name) => join(path, name),
    remove: () => rm(path, { recursive: true, force: true }),
  };
};
