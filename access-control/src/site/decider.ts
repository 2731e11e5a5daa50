/**
 * The access decider of one site (Emmett-style): `decide`, `evolve`,
 * `initialState`, over discriminated-union commands and events.
 */
import type { AccessEvent } from '../events.js';
import type { AccessCommand } from './commands.js';
import { decide } from './decide.js';
import { evolve } from './evolve.js';
import { initialAccessState, type AccessState } from './state.js';

export const accessDecider = {
  decide,
  evolve,
  initialState: initialAccessState,
} as const satisfies {
  decide(command: AccessCommand, state: AccessState): unknown;
  evolve(state: AccessState, event: AccessEvent): AccessState;
  initialState(): AccessState;
};
