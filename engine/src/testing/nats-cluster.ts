/**
 * A 3-node NATS JetStream cluster on loopback for tests and benchmarks, on
 * free ports with stores in a temporary directory (the Debian `nats-server`
 * binary; the configuration is the one of `infra/nats/node-*.conf`, with
 * ports chosen here).
 *
 * With `splittable: true`, every route goes through a small TCP proxy owned
 * by this process (one in front of each server's route port, advertised as
 * its route address so that gossiped routes use it too): `isolate(i)` closes
 * the route connections to and from server i and refuses new ones, which is
 * what a network split does to it, while its clients stay connected to it.
 * `heal(i)` lets the routes reconnect.
 *
 * Always `await cluster.stop()` (in afterAll): it SIGKILLs the servers and
 * deletes their stores. Servers are also killed if this process exits first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { tempDir, type TempDir } from './tmp.js';
import { sleep } from './wait.js';

export interface ClusterServer {
  readonly index: number;
  readonly name: string;
  readonly url: string;
  readonly monitorUrl: string;
  /** The running process's id, undefined while stopped. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Sends a signal (default SIGKILL) and waits for the process to end. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same ports and store, and waits until it answers. */
  restart(): Promise<void>;
  /** Cuts this server's routes (needs `splittable`); its clients stay connected to it. */
  isolate(): void;
  heal(): void;
}

export interface NatsCluster {
  readonly servers: readonly ClusterServer[];
  /** Every server's client URL, for a client that fails over. */
  readonly urls: string[];
  /** `urls` joined with commas (the NATS_URL form). */
  readonly url: string;
  readonly dir: string;
  /** Resolves once a JetStream meta leader is known to `via` (default: the first running server). */
  waitForMetaLeader(via?: number, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export interface NatsClusterOptions {
  size?: number;
  /** Routes through proxies this process can cut (`isolate`). Off for benchmarks (a proxy costs CPU). */
  splittable?: boolean;
}

const serverBinary = (): string => (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

/** n distinct free ports: all held open at once, so the kernel cannot hand the same one out twice. */
const freePorts = async (n: number): Promise<number[]> => {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
};

/**
 * The proxy in front of one server's route port (advertised as its route
 * address, so gossiped routes go through it too). It knows which server each
 * connection comes from by the server id in the route's CONNECT line, so it
 * can cut one server off: its inbound routes, and its outbound routes to the
 * others (`block`).
 */
class RouteProxy {
  /** Server ids whose route connections are refused; `*` refuses all. */
  readonly blocked = new Set<string>();
  private readonly connections = new Set<{ from: string | undefined; sockets: Socket[] }>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async open(targetPort: number): Promise<RouteProxy> {
    const opened: { proxy?: RouteProxy } = {};
    const server = createServer((inbound) => opened.proxy?.accept(inbound, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    opened.proxy = new RouteProxy(server, typeof address === 'object' && address !== null ? address.port : 0);
    return opened.proxy;
  }

  private accept(inbound: Socket, targetPort: number): void {
    if (this.blocked.has('*')) {
      inbound.destroy();
      return;
    }
    const outbound = tcpConnect(targetPort, '127.0.0.1');
    const conn = { from: undefined as string | undefined, sockets: [inbound, outbound] };
    this.connections.add(conn);
    for (const s of conn.sockets) {
      s.on('error', () => undefined);
      s.on('close', () => {
        this.connections.delete(conn);
        inbound.destroy();
        outbound.destroy();
      });
    }
    outbound.pipe(inbound);
    // Hold the connecting side until its CONNECT line names the server it comes from.
    let head = '';
    const sniff = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n') && head.length < 64 * 1024) return;
      inbound.off('data', sniff);
      conn.from = /"name":"([^"]+)"/.exec(head)?.[1];
      if (this.blocked.has('*') || (conn.from !== undefined && this.blocked.has(conn.from))) {
        inbound.destroy();
        return;
      }
      outbound.write(Buffer.from(head, 'latin1'));
      inbound.pipe(outbound);
    };
    inbound.on('data', sniff);
  }

  /** Cuts (and refuses) connections from `serverId`, or all with `*`. */
  block(serverId: string): void {
    this.blocked.add(serverId);
    for (const c of this.connections) {
      if (serverId === '*' || c.from === serverId) for (const s of c.sockets) s.destroy();
    }
  }

  unblock(serverId: string): void {
    this.blocked.delete(serverId);
  }

  close(): Promise<void> {
    this.block('*');
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
const installExitHook = (): void => {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
};

interface ServerPorts {
  client: number;
  cluster: number;
  monitor: number;
}

const configOf = (name: string, ports: ServerPorts, routePorts: number[], advertisePort: number | undefined): string =>
  [
    `server_name: ${name}`,
    `listen: 127.0.0.1:${ports.client}`,
    `http: 127.0.0.1:${ports.monitor}`,
    'jetstream { max_memory_store: 256MB, max_file_store: 4GB }',
    'cluster {',
    '  name: vuoro',
    `  listen: 127.0.0.1:${ports.cluster}`,
    // Gossiped (implicit) routes use the advertised address: the proxy, when there is one.
    ...(advertisePort === undefined ? [] : [`  advertise: "127.0.0.1:${advertisePort}"`]),
    `  routes: [${routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(', ')}]`,
    '}',
    '',
  ].join('\n');

const healthy = async (monitorUrl: string): Promise<boolean> => {
  try {
    const res = await fetch(`${monitorUrl}/healthz?js-enabled-only=true`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
};

interface Jsz {
  meta_cluster?: { leader?: string; replicas?: { name: string; current: boolean }[] };
}

const jsz = async (monitorUrl: string): Promise<Jsz | undefined> => {
  try {
    const res = await fetch(`${monitorUrl}/jsz`, { signal: AbortSignal.timeout(1000) });
    return (await res.json()) as Jsz;
  } catch {
    return undefined;
  }
};

/**
 * The meta leader's name once `via` knows it, the leader sees every running
 * server as a current peer (before that, creating an R3 stream fails with "no
 * suitable peers"), and the JetStream API answers through `via`.
 */
async function metaLeaderReady(via: ClusterServer, servers: readonly ClusterServer[]): Promise<string | undefined> {
  const leader = (await jsz(via.monitorUrl))?.meta_cluster?.leader;
  const leaderServer = servers.find((s) => s.name === leader);
  if (leader === undefined || leader === '' || leaderServer === undefined) return undefined;
  const peers = (await jsz(leaderServer.monitorUrl))?.meta_cluster?.replicas ?? [];
  const running = servers.filter((s) => s.running && s !== leaderServer);
  if (!running.every((s) => peers.some((p) => p.name === s.name && p.current))) return undefined;
  try {
    const nc = await connect({ servers: via.url, timeout: 1000, reconnect: false });
    try {
      await (await jetstreamManager(nc, { timeout: 2000 })).getAccountInfo();
      return leader;
    } finally {
      await nc.close();
    }
  } catch {
    return undefined;
  }
}

export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  installExitHook();
  const size = options.size ?? 3;
  const dir: TempDir = await tempDir('vuoro-nats-cluster-');
  const ports: ServerPorts[] = [];
  const free = await freePorts(size * 3);
  for (let i = 0; i < size; i++) ports.push({ client: free[3 * i]!, cluster: free[3 * i + 1]!, monitor: free[3 * i + 2]! });
  /** proxies[j]: in front of server j's route port. */
  const proxies: (RouteProxy | undefined)[] = [];
  if (options.splittable === true) {
    for (let j = 0; j < size; j++) proxies[j] = await RouteProxy.open(ports[j]!.cluster);
  }

  const servers = ports.map((p, i) => {
    const name = `vuoro-n${i + 1}`;
    const routePorts = ports.flatMap((q, j) => (j === i ? [] : [proxies[j]?.port ?? q.cluster]));
    let serverId: string | undefined;
    const confFile = dir.file(`${name}.conf`);
    const storeDir = dir.file(name);
    let child: ChildProcess | undefined;
    let exited: Promise<void> = Promise.resolve();
    let stderr = '';

    const start = async (): Promise<void> => {
      await writeFile(confFile, configOf(name, p, routePorts, proxies[i]?.port));
      stderr = '';
      const proc = spawn(serverBinary(), ['-c', confFile, '-sd', storeDir, ...(process.env.VUORO_NATS_LOG_DIR === undefined ? [] : ['-l', `${process.env.VUORO_NATS_LOG_DIR}/${name}.log`])], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child = proc;
      live.add(proc);
      proc.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      exited = new Promise<void>((resolve) =>
        proc.once('exit', () => {
          live.delete(proc);
          if (child === proc) child = undefined;
          resolve();
        }),
      );
      const monitorUrl = `http://127.0.0.1:${p.monitor}`;
      for (let tries = 0; !(await healthy(monitorUrl)); tries++) {
        if (child !== proc || tries > 300) {
          throw new Error(`${name} did not start: ${stderr.trim() || 'no output'}`);
        }
        await sleep(50);
      }
      const varz = (await (await fetch(`${monitorUrl}/varz`)).json()) as { server_id: string };
      serverId = varz.server_id;
    };

    const cutAll = (blocked: boolean): void => {
      proxies.forEach((proxy, j) => {
        // Its own proxy refuses everyone; the others refuse it.
        const who = j === i ? '*' : serverId;
        if (proxy === undefined || who === undefined) return;
        if (blocked) proxy.block(who);
        else proxy.unblock(who);
      });
    };

    const server: ClusterServer & { start(): Promise<void> } = {
      index: i,
      name,
      url: `nats://127.0.0.1:${p.client}`,
      monitorUrl: `http://127.0.0.1:${p.monitor}`,
      get pid() {
        return child?.pid;
      },
      get running() {
        return child !== undefined;
      },
      start,
      kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
        if (child === undefined) return;
        child.kill(signal);
        await exited;
      },
      restart: async () => {
        if (child !== undefined) throw new Error(`${name} is still running`);
        await start();
      },
      isolate: () => {
        if (options.splittable !== true) throw new Error('isolate() needs a cluster started with { splittable: true }');
        cutAll(true);
      },
      heal: () => cutAll(false),
    };
    return server;
  });

  const cluster: NatsCluster = {
    servers,
    urls: servers.map((s) => s.url),
    url: servers.map((s) => s.url).join(','),
    dir: dir.path,
    waitForMetaLeader: async (via, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const target = servers[via ?? servers.findIndex((s) => s.running)];
        const leader = target === undefined ? undefined : await metaLeaderReady(target, servers);
        if (leader !== undefined) return leader;
        if (Date.now() > deadline) throw new Error('the NATS cluster has no JetStream meta leader with its running peers current');
        await sleep(100);
      }
    },
    stop: async () => {
      await Promise.all(servers.map((s) => s.kill('SIGKILL')));
      await Promise.all(proxies.map((p) => p?.close()));
      await dir.remove();
    },
  };

  try {
    await Promise.all(servers.map((s) => s.start()));
    await cluster.waitForMetaLeader();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
