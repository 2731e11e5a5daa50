/**
 * Vuoro nodes as child processes (the real `main.ts`, CLUSTER=true) for the
 * failover test and the cluster benchmark: each on a free port with its own
 * data directory, reached over HTTP with the demo key it prints at start.
 * Nodes are SIGKILLed if this process exits first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@vuoro/engine/testing/ports.js';

export interface VuoroNode {
  readonly nodeId: string;
  readonly url: string;
  /** The demo key (book + staff, channel chn_demo) this node printed. */
  readonly key: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Sends a signal (default SIGKILL) and waits for the process to end. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Output so far (stdout and stderr, the last 20 kB), to explain a failure. */
  output(): string;
}

export interface VuoroNodeOptions {
  nodeId: string;
  /** NATS servers, this node's own first. */
  natsUrl: string;
  dataDir: string;
  loadCatalogue?: boolean;
  leaseTtlMs?: number;
  env?: Record<string, string>;
}

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const live = new Set<ChildProcess>();
let hooked = false;


export async function startVuoroNode(options: VuoroNodeOptions): Promise<VuoroNode> {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  await mkdir(options.dataDir, { recursive: true });
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: join(MAIN, '../../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: options.dataDir,
      STORE: 'nats',
      CLUSTER: 'true',
      NATS_URL: options.natsUrl,
      NATS_REPLICAS: '3',
      NODE_ID: options.nodeId,
      LEASE_TTL_MS: String(options.leaseTtlMs ?? 5000),
      LOAD_CATALOGUE: options.loadCatalogue === true ? 'true' : 'false',
      DEMO_KEYS: 'true',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_MAX: '100000000',
      EXPIRY_INTERVAL_MS: '0',
      MQTT_PORT: '0',
      ...options.env,
    },
  });
  live.add(child);
  let stderr = '';
  let running = true;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running = false;
      live.delete(child);
      resolve();
    }),
  );
  const key = await new Promise<string>((resolve, reject) => {
    // The service logs (JSON, LOG_LEVEL=warn) to stdout: kept with stderr to explain a failure.
    child.stdout?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20_000);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20_000);
      const found = /Demo key:\s+(\S+)/.exec(stderr);
      if (found?.[1] !== undefined) resolve(found[1]);
    });
    void exited.then(() => reject(new Error(`Vuoro node ${options.nodeId} exited at start:\n${stderr}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    nodeId: options.nodeId,
    url,
    key,
    get pid() {
      return child.pid;
    },
    get running() {
      return running;
    },
    kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
      if (!running) return;
      child.kill(signal);
      await exited;
    },
    output: () => stderr,
  };
}

/** Resolves once the node's /ready says ready and it sees `nodes` live nodes (the test runner's timeout is the limit). */
export async function waitReady(node: VuoroNode, nodes = 1): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(`${node.url}/ready`, { signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as { status: string; cluster?: { liveNodes: string[]; unowned: string[] } };
      if (res.ok && body.status === 'ready' && (body.cluster?.liveNodes.length ?? 0) >= nodes && body.cluster?.unowned.length === 0) return;
    } catch {
      // not yet
    }
    if (!node.running) throw new Error(`Vuoro node ${node.nodeId} died:\n${node.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
