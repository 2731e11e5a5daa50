/**
 * Business tests read as given(events).when(command).then(events), with no
 * store, no clock and no mocks (after Emmett's DeciderSpecification). A
 * refusal is checked by its stable code: `.thenFails('SLOT_CONFLICT')`.
 */
import { expect } from 'vitest';
import type { ErrorCode } from '../shared/errors.js';
import type { DomainError, Result } from '../shared/result.js';

export interface Decider<C, E, S> {
  decide(command: C, state: S): Result<E[]>;
  evolve(state: S, event: E): S;
  initialState(): S;
}

export function specFor<C, E, S>(decider: Decider<C, E, S>) {
  return (given: readonly E[]) => ({
    when(command: C) {
      const state = given.reduce((s, e) => decider.evolve(s, e), decider.initialState());
      const result = decider.decide(command, state);
      return {
        then(expected: readonly E[] | ((events: E[]) => void)): E[] {
          if (!result.ok) throw new Error(`expected events, got ${result.error.code}: ${result.error.message}`);
          if (typeof expected === 'function') expected(result.value);
          else expect(result.value).toEqual(expected);
          return result.value;
        },
        thenFails(code: ErrorCode, check?: (error: DomainError) => void): DomainError {
          if (result.ok) throw new Error(`expected ${code}, got events ${result.value.map((e) => (e as { type: string }).type).join(', ')}`);
          expect(result.error.code).toBe(code);
          expect(result.error.message.length).toBeGreaterThan(10);
          check?.(result.error);
          return result.error;
        },
        /** The state after `given` and the command's events, for follow-up assertions. */
        state(): S {
          if (!result.ok) return state;
          return result.value.reduce((s, e) => decider.evolve(s, e), state);
        },
      };
    },
  });
}
