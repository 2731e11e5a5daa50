/**
 * The event store: the port every caller programs against, its adapters, and
 * `openStore`, which turns configuration into a running adapter (the
 * composition root's only reason to know adapters exist).
 */
import { EventStoreDbEventStore } from './eventstoredb.js';
import { MemoryEventStore } from './memory.js';
import { NatsEventStore } from './nats.js';
import type { EventStore } from './port.js';
import { SqliteEventStore } from './sqlite.js';

export * from './port.js';
export { MemoryEventStore, type MemoryEventStoreOptions } from './memory.js';
export {
  DEFAULT_SQLITE_FILE,
  SqliteEventStore,
  SQLITE_SCHEMA_VERSION,
  type SqliteEventStoreOptions,
} from './sqlite.js';
export {
  MAX_EVENTS_PER_COMMIT,
  NatsEventStore,
  POSITION_FACTOR,
  subjectToken,
  type NatsEventStoreOptions,
} from './nats.js';
export { EventStoreDbEventStore, type EventStoreDbEventStoreOptions } from './eventstoredb.js';
export { StoreClosedError } from './common.js';

export type StoreConfig =
  | { kind: 'memory' }
  | { kind: 'sqlite'; file: string; synchronous?: 'FULL' | 'NORMAL' }
  | { kind: 'nats'; servers: string; streamName?: string; subjectPrefix?: string; replicas?: number }
  | { kind: 'eventstoredb'; url: string; streamPrefix?: string };

export const openStore = async (config: StoreConfig): Promise<EventStore> => {
  switch (config.kind) {
    case 'memory':
      return new MemoryEventStore();
    case 'sqlite':
      return SqliteEventStore.open(config);
    case 'nats':
      return NatsEventStore.connect(config);
    case 'eventstoredb':
      return EventStoreDbEventStore.connect(config);
    default: {
      const unknownKind: never = config;
      throw new TypeError(`unknown event store kind: ${JSON.stringify(unknownKind)}`);
    }
  }
};
