/**
 * Keypad brute force protection, per door: after `maxFailures` unknown codes
 * within `windowMs`, the door's keypad refuses every PIN for `lockoutMs`
 * (doubling on each repeat, up to `maxLockoutMs`), and the caller raises an
 * alert. Cards are not locked out: a card UID cannot be guessed at a keypad.
 * A grant clears the count. Time is an input.
 */
export interface LockoutPolicy {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
  maxLockoutMs: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = {
  maxFailures: 5,
  windowMs: 5 * 60_000,
  lockoutMs: 5 * 60_000,
  maxLockoutMs: 60 * 60_000,
};

interface DoorFailures {
  /** Failure times within the window, oldest first. */
  times: number[];
  lockedUntil: number;
  /** Lockouts in a row without a grant in between: each doubles the next. */
  streak: number;
}

export interface LockoutStarted {
  from: number;
  until: number;
  failures: number;
}

export class LockoutTracker {
  private readonly doors = new Map<string, DoorFailures>();

  constructor(private readonly policy: LockoutPolicy = DEFAULT_LOCKOUT) {}

  /** The end of the door's lockout, if it is locked out at `now`. */
  lockedUntil(door: string, now: number): number | undefined {
    const f = this.doors.get(door);
    return f !== undefined && now < f.lockedUntil ? f.lockedUntil : undefined;
  }

  /** Counts a failed attempt; returns the lockout it starts, if it starts one. */
  recordFailure(door: string, now: number): LockoutStarted | undefined {
    let f = this.doors.get(door);
    if (f === undefined) {
      f = { times: [], lockedUntil: 0, streak: 0 };
      this.doors.set(door, f);
    }
    if (now < f.lockedUntil) return undefined;
    const since = now - this.policy.windowMs;
    while (f.times.length > 0 && (f.times[0] as number) <= since) f.times.shift();
    f.times.push(now);
    if (f.times.length < this.policy.maxFailures) return undefined;
    const failures = f.times.length;
    const duration = Math.min(this.policy.maxLockoutMs, this.policy.lockoutMs * 2 ** f.streak);
    f.streak++;
    f.lockedUntil = now + duration;
    f.times = [];
    return { from: now, until: f.lockedUntil, failures };
  }

  recordSuccess(door: string): void {
    this.doors.delete(door);
  }

  /** Forgets doors with nothing recent, so memory stays bounded by active doors. */
  prune(now: number): void {
    for (const [door, f] of this.doors) {
      const last = f.times[f.times.length - 1] ?? 0;
      if (now >= f.lockedUntil + this.policy.maxLockoutMs && now - last > this.policy.windowMs) this.doors.delete(door);
    }
  }

  get size(): number {
    return this.doors.size;
  }
}
