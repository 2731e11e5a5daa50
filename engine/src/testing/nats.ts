/**
 * A JetStream server for integration tests: the machine's own server on
 * 127.0.0.1:4222 when it answers with JetStream enabled, otherwise a private
 * `nats-server -js` on a free port with its store in a temporary directory.
 *
 * Tests share the server, so everything they create must have a unique name
 * (`uniqueSuffix()`) and be deleted afterwards (`deleteJetStreamStreams`).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { tempDir } from './tmp.js';
import { sleep } from './wait.js';
import { freePort } from './ports.js';

export interface NatsForTests {
  url: string;
  /** The private server's store directory; undefined for the shared server. */
  storeDir?: string;
  /** Stops the private server and deletes its directory; a no-op for the shared one. */
  stop(): Promise<void>;
}

const LOCAL_URL = 'nats://127.0.0.1:4222';

const answersWithJetStream = async (url: string): Promise<boolean> => {
  try {
    const nc = await connect({ servers: url, timeout: 1000, reconnect: false });
    try {
      await (await jetstreamManager(nc)).getAccountInfo();
      return true;
    } finally {
      await nc.close();
    }
  } catch {
    return false;
  }
};


const serverBinary = (): string => (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

export const ensureNats = async (options: { useLocal?: boolean } = {}): Promise<NatsForTests> => {
  if ((options.useLocal ?? true) && (await answersWithJetStream(LOCAL_URL))) {
    return { url: LOCAL_URL, stop: async () => undefined };
  }

  const dir = await tempDir('vuoro-nats-');
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const child = spawn(serverBinary(), ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir.path], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => (running = false));
  child.once('error', (error) => (stderr += String(error)));

  while (!(await answersWithJetStream(url))) {
    if (!running) {
      await dir.remove();
      throw new Error(`nats-server did not start: ${stderr.trim() || 'no output'}`);
    }
    await sleep(50);
  }
  return {
    url,
    storeDir: dir.path,
    stop: async () => {
      if (running) {
        child.kill('SIGTERM');
        await exited;
      }
      await dir.remove();
    },
  };
};

/** A suffix for stream, bucket and subject names that no other test run uses. */
export const uniqueSuffix = (): string => `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`.toUpperCase();

/** Deletes JetStream streams by name (a KV bucket `B` is stream `KV_B`); missing ones are fine. */
export const deleteJetStreamStreams = async (url: string, names: readonly string[]): Promise<void> => {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    const jsm = await jetstreamManager(nc);
    for (const name of names) await jsm.streams.delete(name).catch(() => false);
  } finally {
    await nc.close();
  }
};
