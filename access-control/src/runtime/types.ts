/** The partition actor that runs one site's access decider. */
import type { PartitionActor } from '@vuoro/engine';
import type { AccessEvent } from '../events.js';
import type { AccessCommand } from '../site/commands.js';
import type { AccessState } from '../site/state.js';

export type AccessActor = PartitionActor<AccessCommand, AccessEvent, AccessState>;
