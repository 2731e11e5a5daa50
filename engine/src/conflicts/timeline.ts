/**
 * The conflict index: per space (or resource) a timeline of the bookings made
 * directly on it, in a B+ tree keyed by start (sorted-btree). Bookings on one
 * timeline never overlap (each was checked against it before insertion), so
 * ordering by start also orders by end, and a conflict check visits only the
 * O(log n) path to the query point plus the few neighbours whose buffers can
 * reach it.
 *
 * Buffers: a booking occupies [start, end) and keeps `before` ms free before
 * its start and `after` ms after its end (cleaning, changing rooms). Two
 * bookings conflict when either one's buffered interval overlaps the other's
 * actual interval; buffers may overlap each other.
 */
import sortedBtree from 'sorted-btree';

// sorted-btree is CommonJS with `exports.default`: Node's ESM interop puts the
// class on `.default`, a bundler's (vitest) unwraps it. Accept both.
type BTreeClass = typeof sortedBtree.default;
const BTree: BTreeClass = (sortedBtree as unknown as { default?: BTreeClass }).default ?? (sortedBtree as unknown as BTreeClass);

export interface Booking {
  readonly id: string;
  /** Epoch ms, inclusive. */
  readonly start: number;
  /** Epoch ms, exclusive. */
  readonly end: number;
  /** Buffer before the start, ms. */
  readonly before: number;
  /** Buffer after the end, ms. */
  readonly after: number;
}

export const bookingsConflict = (a: Booking, b: Booking): boolean =>
  (a.start - a.before < b.end && b.start < a.end + a.after) ||
  (b.start - b.before < a.end && a.start < b.end + b.after);

/** One booking id, or a set of them, that a check should look through. */
export type Ignore = string | ReadonlySet<string>;
const ignored = (id: string, ignore: Ignore | undefined): boolean =>
  ignore !== undefined && (typeof ignore === 'string' ? id === ignore : ignore.has(id));

export class Timeline {
  private readonly tree = new BTree<number, Booking>();
  /** Upper bounds of the buffers on this timeline; they only grow, which keeps them safe bounds. */
  private maxBefore = 0;
  private maxAfter = 0;

  get size(): number {
    return this.tree.size;
  }

  /**
   * The first booking that conflicts with `candidate`, ignoring the booking(s)
   * named by `ignore` (the reservation being moved, or the occurrences a series
   * change cancels in the same decision).
   */
  findConflict(candidate: Booking, ignore?: Ignore): Booking | undefined {
    // Any conflicting booking starts before this bound...
    const startBound = candidate.end + Math.max(candidate.after, this.maxBefore);
    // ...and ends after this one. Walking down from startBound, ends decrease too.
    const endBound = candidate.start - Math.max(candidate.before, this.maxAfter);
    let pair = this.tree.nextLowerPair(startBound);
    while (pair !== undefined) {
      const existing = pair[1];
      if (existing.end <= endBound) return undefined;
      if (bookingsConflict(candidate, existing) && !ignored(existing.id, ignore)) return existing;
      pair = this.tree.nextLowerPair(pair[0]);
    }
    return undefined;
  }

  /** Bookings whose actual interval overlaps [from, to), in start order. */
  overlapping(from: number, to: number): Booking[] {
    const out: Booking[] = [];
    const first = this.tree.getPairOrNextLower(from);
    const startKey = first !== undefined && first[1].end > from ? first[0] : from;
    for (const [key, booking] of this.tree.entries(startKey)) {
      if (key >= to) break;
      if (booking.end > from) out.push(booking);
    }
    return out;
  }

  /**
   * Adds a booking. The caller has checked it with `findConflict`; inserting an
   * overlapping booking would break the index's ordering invariant, so it throws.
   */
  insert(booking: Booking): void {
    if (this.tree.has(booking.start)) {
      throw new Error(`conflict index: a booking already starts at ${booking.start} (bug: insert without check)`);
    }
    this.tree.set(booking.start, booking);
    if (booking.before > this.maxBefore) this.maxBefore = booking.before;
    if (booking.after > this.maxAfter) this.maxAfter = booking.after;
  }

  remove(booking: Booking): boolean {
    const existing = this.tree.get(booking.start);
    if (existing === undefined || existing.id !== booking.id) return false;
    return this.tree.delete(booking.start);
  }

  *all(): IterableIterator<Booking> {
    for (const [, b] of this.tree.entries()) yield b;
  }
}

/** Timelines by key (a space id, or a resource id). */
export class ConflictIndex {
  private readonly timelines = new Map<string, Timeline>();

  timeline(key: string): Timeline {
    let t = this.timelines.get(key);
    if (t === undefined) {
      t = new Timeline();
      this.timelines.set(key, t);
    }
    return t;
  }

  /** Checks `candidate` against every timeline in `keys`; returns the key and booking of the first conflict. */
  findConflict(
    keys: readonly string[],
    candidate: Booking,
    ignore?: Ignore,
  ): { key: string; booking: Booking } | undefined {
    for (const key of keys) {
      const t = this.timelines.get(key);
      if (t === undefined) continue;
      const booking = t.findConflict(candidate, ignore);
      if (booking !== undefined) return { key, booking };
    }
    return undefined;
  }

  insert(keys: readonly string[], booking: Booking): void {
    for (const key of keys) this.timeline(key).insert(booking);
  }

  remove(keys: readonly string[], booking: Booking): void {
    for (const key of keys) this.timelines.get(key)?.remove(booking);
  }
}
