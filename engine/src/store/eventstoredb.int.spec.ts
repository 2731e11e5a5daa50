import { describe, expect, it } from 'vitest';
import { uniqueSuffix } from '../testing/nats.js';
import { eventStoreContract } from './contract.js';
import { EventStoreDbEventStore } from './eventstoredb.js';
import { StoreUnavailableError } from './port.js';

// No EventStoreDB/KurrentDB server can be installed on the development
// machines (not in Debian or npm, no Docker engine): the contract runs where
// one is reachable, e.g. EVENTSTORE_URL='esdb://localhost:2113?tls=false'.
const url = process.env['EVENTSTORE_URL'];
if (url === undefined || url === '') {
  console.warn(
    'eventstoredb.int.spec.ts: EVENTSTORE_URL is not set, so the EventStoreDB contract suite is skipped ' +
      "(set it to a server's connection string, e.g. esdb://localhost:2113?tls=false, to run it).",
  );
}

describe.skipIf(url === undefined || url === '')('EventStoreDB adapter', () => {
  eventStoreContract('eventstoredb', async () => {
    // A fresh prefix per test: the database is shared and cannot be emptied.
    const options = { url: url ?? '', streamPrefix: `vuoro-test-${uniqueSuffix().toLowerCase()}-` };
    const opened = [await EventStoreDbEventStore.connect(options)];
    return {
      store: opened[0]!,
      reopen: async () => {
        await opened[opened.length - 1]!.close();
        const next = await EventStoreDbEventStore.connect(options);
        opened.push(next);
        return next;
      },
      cleanup: async () => {
        for (const s of opened) await s.close();
      },
    };
  });
});

describe('EventStoreDB adapter without a server', () => {
  it('reports a server that does not answer as StoreUnavailableError', async () => {
    await expect(EventStoreDbEventStore.connect({ url: 'esdb://127.0.0.1:1?tls=false' })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
  });
});
