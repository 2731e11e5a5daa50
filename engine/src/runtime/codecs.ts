/**
 * How the partition runtime talks to each decider: upcasting, time stamping,
 * event metadata and snapshots.
 */
import { DIRECTORY_EVENT_TYPES, type DirectoryCommand, type DirectoryEvent, type DirectoryState } from '../directory/directory.js';
import { actorLabel, type SiteCommand } from '../site/commands.js';
import type { SiteEvent } from '../site/events.js';
import { SITE_SNAPSHOT_SCHEMA, loadSite, saveSite, type SavedSite } from '../site/snapshot.js';
import type { SiteState } from '../site/state.js';
import { schemaVersionOf, upcastSiteEvent } from '../site/upcast.js';
import type { PartitionCodec } from './partition.js';

type Stampable = { meta: { now: number; actor: SiteCommand['meta']['actor'] }; type: string };

const stamp = <C extends Stampable>(command: C, now: number): C => ({ ...command, meta: { ...command.meta, now } });
const metadataOf = (command: Stampable) => ({ actor: actorLabel(command.meta.actor) });

export const siteCodec: PartitionCodec<SiteCommand, SiteEvent, SiteState> = {
  upcast: upcastSiteEvent,
  schemaVersionOf,
  stamp,
  metadataOf,
  commandType: (c) => c.type,
  snapshot: {
    schema: SITE_SNAPSHOT_SCHEMA,
    save: saveSite,
    load: (data) => loadSite(data as SavedSite),
  },
};

export const directoryCodec: PartitionCodec<DirectoryCommand, DirectoryEvent, DirectoryState> = {
  upcast: (e) => (DIRECTORY_EVENT_TYPES.has(e.type) ? ({ type: e.type, data: e.data } as DirectoryEvent) : undefined),
  stamp,
  metadataOf,
  commandType: (c) => c.type,
};
