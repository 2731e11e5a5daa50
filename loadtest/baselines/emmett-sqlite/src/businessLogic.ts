// A site's booking schedule as an Emmett decider, written the way Emmett's own
// samples are (one function per command, a `decide` that switches over the
// command type, business failures thrown as IllegalStateError).
//
// This file is the same in both Emmett baselines; only the Emmett version it
// compiles against differs (0.38.5 here, 0.42.0 in emmett-postgres).

import {
  EmmettError,
  IllegalStateError,
  NotFoundError,
  type Command,
  type Decider,
  type Event,
} from '@event-driven-io/emmett';
import type { ReservationDetails } from '../../shared/reservations.js';
import { emptySchedule, findOverlap, opened, withReservation, type SiteSchedule } from '../../shared/siteSchedule.js';

export type ReserveSlot = Command<'ReserveSlot', ReservationDetails, { now: Date }>;

export type SiteScheduleCommand = ReserveSlot;

/** First event of every site's stream, appended when the site is added to the catalogue. */
export type SiteScheduleOpened = Event<'SiteScheduleOpened', { siteId: string; openedAt: string }>;

export type ReservationConfirmed = Event<'ReservationConfirmed', ReservationDetails & { confirmedAt: string }>;

export type SiteScheduleEvent = SiteScheduleOpened | ReservationConfirmed;

export const reserveSlot = (command: ReserveSlot, state: SiteSchedule): ReservationConfirmed => {
  const { data, metadata } = command;
  if (!state.opened) throw new NotFoundError({ id: data.siteId, type: 'SiteSchedule' });
  const overlapping = findOverlap(state, data);
  if (overlapping !== undefined) {
    throw new IllegalStateError(
      `Slot taken: ${data.unitId} from ${new Date(data.startMs).toISOString()} overlaps ${overlapping.reservationId}`,
    );
  }
  return { type: 'ReservationConfirmed', data: { ...data, confirmedAt: metadata.now.toISOString() } };
};

export const decide = (command: SiteScheduleCommand, state: SiteSchedule): SiteScheduleEvent => {
  const { type } = command;
  switch (type) {
    case 'ReserveSlot':
      return reserveSlot(command, state);
    default: {
      const _notExistingCommandType: never = type;
      throw new EmmettError('Unknown command type');
    }
  }
};

export const evolve = (state: SiteSchedule, event: SiteScheduleEvent): SiteSchedule => {
  switch (event.type) {
    case 'SiteScheduleOpened':
      return opened(state);
    case 'ReservationConfirmed':
      return withReservation(state, event.data);
    default: {
      const _notExistingEventType: never = event;
      return state;
    }
  }
};

export const initialState = emptySchedule;

export const decider: Decider<SiteSchedule, SiteScheduleCommand, SiteScheduleEvent> = {
  decide,
  evolve,
  initialState,
};
