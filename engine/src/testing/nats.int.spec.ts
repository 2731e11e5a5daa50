import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NatsEventStore } from '../store/nats.js';
import { ensureNats } from './nats.js';

describe('ensureNats', () => {
  it('starts a private JetStream server when asked not to use the local one, and removes it on stop', async () => {
    const nats = await ensureNats({ useLocal: false });
    expect(nats.url).not.toBe('nats://127.0.0.1:4222');
    expect(nats.storeDir !== undefined && existsSync(nats.storeDir)).toBe(true);
    const store = await NatsEventStore.connect({ servers: nats.url });
    await store.append('site-1', [{ type: 'X', data: {} }], { expectedVersion: 'no_stream' });
    expect(await store.streamVersion('site-1')).toBe(1);
    await store.close();
    await nats.stop();
    expect(existsSync(nats.storeDir!)).toBe(false);
  });
});
