/**
 * The embedded MQTT broker: aedes (MQTT 3.1.1) on a TCP listener, and on a
 * TLS listener when a certificate is configured. Every connection passes the
 * packet guard (packet-guard.ts) before aedes reads it. Device policy comes
 * in as aedes hooks (device-auth.ts).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { Aedes, type AedesOptions } from 'aedes';
import type { AccessLogger } from '@vuoro/access-control';
import { PacketGuard } from './packet-guard.js';
import { IndexedRetainedPersistence } from './persistence.js';

export interface BrokerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  tls?: { port: number; certFile: string; keyFile: string; caFile?: string };
  maxPacketBytes: number;
  hooks: Partial<AedesOptions>;
  log: AccessLogger;
}

export interface EmbeddedBroker {
  aedes: Aedes;
  port: number;
  tlsPort: number | undefined;
  /** Connections cut by the packet guard. */
  readonly guardRefusals: number;
  close(): Promise<void>;
}

const listen = (server: Server | TlsServer, port: number, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });

export async function startEmbeddedBroker(options: BrokerOptions): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker({
    persistence: new IndexedRetainedPersistence(),
    // A slow or frozen device must not stall delivery to everyone else.
    drainTimeout: 15_000,
    connectTimeout: 10_000,
    concurrency: 1000,
    maxClientsIdLength: 80,
    heartbeatInterval: 60_000,
    ...options.hooks,
  });
  let guardRefusals = 0;
  const sockets = new Set<Socket>();
  const handle = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    const guard = new PacketGuard(options.maxPacketBytes);
    guard.once('error', (error: Error) => {
      guardRefusals++;
      options.log.warn({ remote: socket.remoteAddress, reason: error.message }, 'MQTT connection cut: packet refused by the size guard');
      socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.pipe(guard);
    const conn = Duplex.from({ readable: guard, writable: socket });
    conn.on('error', () => socket.destroy());
    conn.once('close', () => socket.destroy());
    aedes.handle(conn);
  };
  const server = createServer(handle);
  const port = await listen(server, options.port, options.host);
  let tlsServer: TlsServer | undefined;
  let tlsPort: number | undefined;
  if (options.tls !== undefined) {
    const [cert, key, ca] = await Promise.all([
      readFile(options.tls.certFile),
      readFile(options.tls.keyFile),
      options.tls.caFile === undefined ? undefined : readFile(options.tls.caFile),
    ]);
    tlsServer = createTlsServer({ cert, key, ...(ca === undefined ? {} : { ca }), minVersion: 'TLSv1.2' }, handle);
    tlsServer.on('tlsClientError', (error) => options.log.warn({ reason: error.message }, 'MQTT TLS handshake failed'));
    tlsPort = await listen(tlsServer, options.tls.port, options.host);
  }
  aedes.on('clientError', (client, error) => options.log.debug({ clientId: client.id, reason: error.message }, 'MQTT client error'));
  aedes.on('connectionError', (client, error) => options.log.debug({ clientId: client.id, reason: error.message }, 'MQTT connection error'));
  return {
    aedes,
    port,
    tlsPort,
    get guardRefusals() {
      return guardRefusals;
    },
    async close() {
      const closed = (s: Server | TlsServer | undefined) => new Promise<void>((resolve) => (s === undefined ? resolve() : s.close(() => resolve())));
      const serversClosed = Promise.all([closed(server), closed(tlsServer)]);
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await serversClosed;
    },
  };
}
