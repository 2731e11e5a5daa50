/**
 * Validity windows: half-open [start, end) instants in epoch milliseconds.
 * Pure interval arithmetic; anything about Helsinki wall time happens before
 * (reservations carry instants) and goes through the engine's calendar.
 */
import type { WindowDto } from '../events.js';

export interface Window {
  start: number;
  end: number;
}

/** Sorted, with overlapping and touching windows merged; empty windows dropped. */
export function normalize(windows: readonly Window[]): Window[] {
  const sorted = windows.filter((w) => w.end > w.start).sort((a, b) => a.start - b.start || a.end - b.end);
  const out: Window[] = [];
  for (const w of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && w.start <= last.end) last.end = Math.max(last.end, w.end);
    else out.push({ start: w.start, end: w.end });
  }
  return out;
}

/** The window containing `t`, if any (windows normalized). */
export function windowAt(windows: readonly Window[], t: number): Window | undefined {
  let lo = 0;
  let hi = windows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const w = windows[mid] as Window;
    if (t < w.start) hi = mid - 1;
    else if (t >= w.end) lo = mid + 1;
    else return w;
  }
  return undefined;
}

export function overlaps(a: readonly Window[], b: readonly Window[]): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as Window;
    const y = b[j] as Window;
    if (x.start < y.end && y.start < x.end) return true;
    if (x.end <= y.end) i++;
    else j++;
  }
  return false;
}

/** Windows that end after `t`, clipped to [from, to) when given. */
export function clip(windows: readonly Window[], from: number, to = Number.POSITIVE_INFINITY): Window[] {
  const out: Window[] = [];
  for (const w of windows) {
    const start = Math.max(w.start, from);
    const end = Math.min(w.end, to);
    if (end > start) out.push({ start, end });
  }
  return out;
}

export function sameWindows(a: readonly Window[], b: readonly Window[]): boolean {
  return a.length === b.length && a.every((w, i) => w.start === b[i]?.start && w.end === b[i]?.end);
}

export const toDto = (w: Window): WindowDto => ({ start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() });
export const fromDto = (w: WindowDto): Window => ({ start: Date.parse(w.start), end: Date.parse(w.end) });

export const lastEnd = (windows: readonly Window[]): number => windows.reduce((m, w) => Math.max(m, w.end), Number.NEGATIVE_INFINITY);
