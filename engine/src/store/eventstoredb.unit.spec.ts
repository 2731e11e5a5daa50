import { ANY, NO_STREAM, START, STREAM_EXISTS } from '@eventstore/db-client';
import { describe, expect, it } from 'vitest';
import {
  eventIdFor,
  fromCurrentRevision,
  fromNumericPosition,
  toExpectedRevision,
  toNumericPosition,
  uuidV5,
} from './eventstoredb.js';

// The EventStoreDB adapter's pure mappings; its contract suite needs a server
// (eventstoredb.int.spec.ts, EVENTSTORE_URL).
describe('EventStoreDB mappings', () => {
  it('maps expected versions to expected revisions (our version N = their revision N - 1)', () => {
    expect(toExpectedRevision('any')).toBe(ANY);
    expect(toExpectedRevision('no_stream')).toBe(NO_STREAM);
    expect(toExpectedRevision('stream_exists')).toBe(STREAM_EXISTS);
    expect(toExpectedRevision(0)).toBe(NO_STREAM);
    expect(toExpectedRevision(1)).toBe(0n);
    expect(toExpectedRevision(42)).toBe(41n);
  });

  it('maps the actual revision of a conflict back to a version', () => {
    expect(fromCurrentRevision(NO_STREAM)).toBe(0);
    expect(fromCurrentRevision(0n)).toBe(1);
    expect(fromCurrentRevision(41n)).toBe(42);
  });

  it('computes RFC 4122 version 5 UUIDs', () => {
    // Python: uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org')
    expect(uuidV5('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });

  it('derives the same event ids for a retried commit and different ones otherwise', () => {
    expect(eventIdFor('site-1', 'c1', 0)).toBe(eventIdFor('site-1', 'c1', 0));
    const ids = new Set([
      eventIdFor('site-1', 'c1', 0),
      eventIdFor('site-1', 'c1', 1),
      eventIdFor('site-1', 'c2', 0),
      eventIdFor('site-2', 'c1', 0),
      eventIdFor('site-1c', '1', 0),
    ]);
    expect(ids.size).toBe(5);
    expect(eventIdFor('s', 'c', 0)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('maps log positions to numbers and back', () => {
    expect(toNumericPosition({ commit: 1234n, prepare: 1234n })).toBe(1234);
    expect(fromNumericPosition(0)).toBe(START);
    expect(fromNumericPosition(1234)).toEqual({ commit: 1234n, prepare: 1234n });
  });
});
