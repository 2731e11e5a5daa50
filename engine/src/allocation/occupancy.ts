/**
 * Which awarded slots hold which timeline on which weekday: the allocator's
 * own little conflict index, mirroring the site partition's (a slot is
 * stored on its unit's own spaces and resources, and checked against its
 * unit's related timelines), in weekly wall minutes.
 */
import { timeClash, type Problem, type UnitInfo } from './model.js';

const grow = (a: Int32Array): Int32Array => {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
};

const mix = (c: number): number => Math.imul(c + 1, 2654435761) >>> 0;

export class Occupancy {
  /** Candidate indexes per (timeline key, weekday), sorted by start. */
  private readonly lists: number[][];
  /**
   * Per (key, weekday) list, a hash of its contents (a sum of mixed candidate
   * indexes), so a search can tell it already tried a move against exactly
   * this occupancy; a rolled-back trial leaves it as it was.
   */
  private readonly versions: Uint32Array;

  constructor(private readonly p: Problem) {
    this.lists = Array.from({ length: p.keyCount * 7 }, () => []);
    this.versions = new Uint32Array(p.keyCount * 7);
  }

  /** A number that changes whenever any timeline `c` is checked against changes on its weekday. */
  signature(c: number): number {
    const p = this.p;
    const unit = p.units[p.cUnit[c] as number] as UnitInfo;
    const day = p.cDay[c] as number;
    let sig = 0;
    for (const key of unit.check) sig = (sig * 31 + (this.versions[key * 7 + day - 1] as number)) >>> 0;
    return sig;
  }

  private slot(key: number, day: number): number[] {
    return this.lists[key * 7 + day - 1] as number[];
  }

  add(c: number): void {
    const p = this.p;
    const unit = p.units[p.cUnit[c] as number] as UnitInfo;
    const day = p.cDay[c] as number;
    const s = p.cStart[c] as number;
    const mixed = mix(c);
    for (const key of unit.insert) {
      const v = key * 7 + day - 1;
      this.versions[v] = ((this.versions[v] as number) + mixed) >>> 0;
      const list = this.slot(key, day);
      let k = list.length;
      while (k > 0 && (p.cStart[list[k - 1] as number] as number) > s) k--;
      list.splice(k, 0, c);
    }
  }

  remove(c: number): void {
    const p = this.p;
    const unit = p.units[p.cUnit[c] as number] as UnitInfo;
    const day = p.cDay[c] as number;
    const mixed = mix(c);
    for (const key of unit.insert) {
      const v = key * 7 + day - 1;
      this.versions[v] = ((this.versions[v] as number) - mixed) >>> 0;
      const list = this.slot(key, day);
      const k = list.indexOf(c);
      if (k >= 0) list.splice(k, 1);
    }
  }

  /** The first held slot `c` clashes with, other than `ignore` (and `ignore2`); -1 if none. */
  firstClash(c: number, ignore = -1, ignore2 = -1): number {
    const p = this.p;
    const unit = p.units[p.cUnit[c] as number] as UnitInfo;
    const day = p.cDay[c] as number;
    const s = p.cStart[c] as number;
    const e = p.cEnd[c] as number;
    for (const key of unit.check) {
      const list = this.slot(key, day);
      for (let k = 0; k < list.length; k++) {
        const a = list[k] as number;
        if (a === ignore || a === ignore2) continue;
        const as = p.cStart[a] as number;
        if (as - p.maxBuffer >= e) break;
        const ua = p.units[p.cUnit[a] as number] as UnitInfo;
        if (timeClash(s, e, unit, as, p.cEnd[a] as number, ua)) return a;
      }
    }
    return -1;
  }

  /** Every held slot `c` clashes with (each once). */
  clashes(c: number, out: number[] = []): number[] {
    const n = this.clashesUpTo(c, 1 << 30, this.buffer);
    out.length = n;
    for (let k = 0; k < n; k++) out[k] = this.buffer[k] as number;
    return out;
  }

  private buffer: Int32Array = new Int32Array(64);

  /**
   * Writes into `out` the distinct held slots `c` clashes with, stopping once
   * more than `limit` are found; returns how many were written (so a result
   * above `limit` means "too many").
   */
  clashesUpTo(c: number, limit: number, out: Int32Array): number {
    const p = this.p;
    const unit = p.units[p.cUnit[c] as number] as UnitInfo;
    const day = p.cDay[c] as number;
    const s = p.cStart[c] as number;
    const e = p.cEnd[c] as number;
    let n = 0;
    for (const key of unit.check) {
      const list = this.lists[key * 7 + day - 1] as number[];
      for (let k = 0; k < list.length; k++) {
        const a = list[k] as number;
        const as = p.cStart[a] as number;
        if (as - p.maxBuffer >= e) break;
        const ua = p.units[p.cUnit[a] as number] as UnitInfo;
        if (!timeClash(s, e, unit, as, p.cEnd[a] as number, ua)) continue;
        let seen = false;
        for (let j = 0; j < n; j++) if (out[j] === a) seen = true;
        if (seen) continue;
        if (n >= out.length) {
          if (out === this.buffer) this.buffer = out = grow(out);
          else return n;
        }
        out[n++] = a;
        if (n > limit) return n;
      }
    }
    return n;
  }

  /**
   * The free stretch around [start, end) on `c`'s unit and weekday, as far as
   * held slots go: the end of the nearest held slot before and the start of
   * the nearest after (buffers included). Used to place slots snugly.
   */
  neighbours(c: number): { left: number; right: number } {
    const p = this.p;
    const unit = p.units[p.cUnit[c] as number] as UnitInfo;
    const day = p.cDay[c] as number;
    const s = p.cStart[c] as number;
    const e = p.cEnd[c] as number;
    let left = -1;
    let right = 1441;
    for (const key of unit.check) {
      for (const a of this.slot(key, day)) {
        const ua = p.units[p.cUnit[a] as number] as UnitInfo;
        const ae = (p.cEnd[a] as number) + Math.max(ua.after, unit.before);
        const as = (p.cStart[a] as number) - Math.max(ua.before, unit.after);
        if (ae <= s && ae > left) left = ae;
        if (as >= e && as < right) right = as;
      }
    }
    return { left, right };
  }
}
