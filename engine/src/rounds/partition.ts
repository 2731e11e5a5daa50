/**
 * Rounds as partitions: each round is its own stream (`round-<roundId>`),
 * decided by the round decider; the registry (stream `rounds`) lists the
 * rounds that exist, so a restarted node knows which partitions to load.
 */
import { z } from 'zod';
import { idSchema } from '../catalogue/schemas.js';
import type { PartitionCodec } from '../runtime/partition.js';
import { fail, ok, type Result } from '../shared/result.js';
import { actorLabel, type CommandMeta } from '../site/commands.js';
import { isRoundEventType, type RoundCommand, type RoundEvent } from './messages.js';
import type { RoundState } from './state.js';

export const ROUNDS_REGISTRY_STREAM = 'rounds';
export const roundStream = (roundId: string): string => `round-${roundId}`;

type Stampable = { meta: CommandMeta; type: string };
const stamp = <C extends Stampable>(command: C, now: number): C => ({ ...command, meta: { ...command.meta, now } });
const metadataOf = (command: Stampable) => ({ actor: actorLabel(command.meta.actor) });

export const roundCodec: PartitionCodec<RoundCommand, RoundEvent, RoundState> = {
  upcast: (e) => (isRoundEventType(e.type) ? ({ type: e.type, data: e.data } as RoundEvent) : undefined),
  stamp,
  metadataOf,
  commandType: (c) => c.type,
};

// ---------------------------------------------------------------------------
// Registry

export const registerRoundSchema = z.object({ roundId: idSchema, name: z.string().min(1).max(200) }).strict();
export type RegistryCommand = { type: 'RegisterRound'; data: z.infer<typeof registerRoundSchema>; meta: CommandMeta };
export type RegistryEvent = { type: 'RoundRegistered'; data: { roundId: string; name: string; by: string } };
export interface RegistryState {
  rounds: Map<string, { name: string }>;
}

export const registryDecider = {
  decide(command: RegistryCommand, state: RegistryState): Result<RegistryEvent[]> {
    if (command.meta.actor.kind === 'customer') return fail('FORBIDDEN', 'Only booking staff can create rounds.');
    if (state.rounds.has(command.data.roundId)) return fail('ALREADY_EXISTS', `Round ${command.data.roundId} already exists.`, { field: 'roundId' });
    return ok([{ type: 'RoundRegistered', data: { ...command.data, by: actorLabel(command.meta.actor) } }]);
  },
  evolve(state: RegistryState, event: RegistryEvent): RegistryState {
    state.rounds.set(event.data.roundId, { name: event.data.name });
    return state;
  },
  initialState: (): RegistryState => ({ rounds: new Map() }),
};

export const registryCodec: PartitionCodec<RegistryCommand, RegistryEvent, RegistryState> = {
  upcast: (e) => (e.type === 'RoundRegistered' ? ({ type: e.type, data: e.data } as RegistryEvent) : undefined),
  stamp,
  metadataOf,
  commandType: (c) => c.type,
};
