/**
 * The access-control events the projections read, as their fields are used
 * here. The shapes are published by `@vuoro/access-control` (its
 * `src/events.ts`: "a published shape stays as it is; a new field is
 * optional"); projections depend only on the engine, so these schemas repeat
 * the fields consumed and ignore the rest. `consumed.unit.spec.ts` checks them
 * against the published schemas, so a change over there shows up here.
 */
import { z } from 'zod';

const instant = z.iso.datetime({ offset: true });
const id = z.string().min(1).max(80);

export const CONSUMED_ACCESS_EVENTS = {
  /** One occupied interval of a space, debounced from sensor readings. */
  SpaceOccupancyRecorded: z.object({
    siteId: id,
    spaceId: id,
    start: instant,
    end: instant,
    peakPeopleCount: z.number().int().min(0).optional(),
    sensorIds: z.array(id),
  }),
  DeviceProvisioned: z.object({
    siteId: id,
    deviceId: id,
    kind: z.enum(['lock', 'key_cabinet', 'occupancy_sensor']),
    doorId: id.optional(),
    spaceId: id.optional(),
  }),
  DeviceDecommissioned: z.object({ siteId: id, deviceId: id }),
  DeviceConnectivityChanged: z.object({ siteId: id, deviceId: id, online: z.boolean(), at: instant }),
  DoorCommandIssued: z.object({
    siteId: id,
    doorId: id,
    commandId: id,
    action: z.string(),
    issuedAt: instant,
    expiresAt: instant,
    emergency: z.boolean(),
  }),
  /** `command_done` / `command_rejected` with the command's id close a door command's round trip. */
  DoorEventReported: z.object({
    siteId: id,
    doorId: id,
    event: z.string(),
    at: instant,
    receivedAt: instant,
    commandId: z.string().optional(),
  }),
} as const;

type Schemas = typeof CONSUMED_ACCESS_EVENTS;
export type ConsumedAccessType = keyof Schemas;
export type ConsumedAccessEvent = { [K in ConsumedAccessType]: { type: K; data: z.infer<Schemas[K]> } }[ConsumedAccessType];

export const isConsumedAccessType = (t: string): t is ConsumedAccessType => Object.hasOwn(CONSUMED_ACCESS_EVENTS, t);

/** The event in the shape used here, or undefined when it is not one of these (or does not validate). */
export function parseConsumedAccessEvent(type: string, data: unknown): ConsumedAccessEvent | undefined {
  if (!isConsumedAccessType(type)) return undefined;
  const parsed = CONSUMED_ACCESS_EVENTS[type].safeParse(data);
  return parsed.success ? ({ type, data: parsed.data } as ConsumedAccessEvent) : undefined;
}
