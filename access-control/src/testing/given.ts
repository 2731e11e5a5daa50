/**
 * Business tests of the access decider read as
 * `given(events).when(command).then(events)` or `.thenFails(code)`, with no
 * store, no clock and no mocks (after the engine's testing/given.ts, with
 * access control's own error codes).
 */
import { expect } from 'vitest';
import type { AccessError, AccessErrorCode } from '../errors.js';
import type { AccessEvent } from '../events.js';
import type { AccessCommand } from '../site/commands.js';
import { accessDecider } from '../site/decider.js';
import type { AccessState } from '../site/state.js';

export function given(events: readonly AccessEvent[]) {
  return {
    when(command: AccessCommand) {
      const state = events.reduce((s, e) => accessDecider.evolve(s, e), accessDecider.initialState());
      const result = accessDecider.decide(command, state);
      return {
        then(expected: readonly AccessEvent[] | ((events: AccessEvent[]) => void)): AccessEvent[] {
          if (!result.ok) throw new Error(`expected events, got ${result.error.code}: ${result.error.message}`);
          if (typeof expected === 'function') expected(result.value);
          else expect(result.value).toEqual(expected);
          return result.value;
        },
        thenFails(code: AccessErrorCode, check?: (error: AccessError) => void): AccessError {
          if (result.ok) throw new Error(`expected ${code}, got events ${result.value.map((e) => e.type).join(', ') || '(none)'}`);
          expect(result.error.code).toBe(code);
          expect(result.error.message.length).toBeGreaterThan(10);
          check?.(result.error);
          return result.error;
        },
        /** The state after `given` and the command's events. */
        state(): AccessState {
          if (!result.ok) return state;
          return result.value.reduce((s, e) => accessDecider.evolve(s, e), state);
        },
      };
    },
  };
}

export const stateOf = (events: readonly AccessEvent[]): AccessState =>
  events.reduce((s, e) => accessDecider.evolve(s, e), accessDecider.initialState());
