/**
 * The site partition's decider (Emmett-style): `decide(command, state)`
 * returns the events to record or a refusal; `evolve(state, event)` applies
 * one; `initialState()` starts from nothing. A site is the consistency
 * boundary, so the space hierarchy is checked atomically.
 */
import * as catalogue from '../catalogue/decide.js';
import * as reservations from '../reservations/decide.js';
import * as series from '../series/decide.js';
import type { Result } from '../shared/result.js';
import type { SiteCommand } from './commands.js';
import type { SiteEvent } from './events.js';
import { evolve } from './evolve.js';
import { initialSiteState, type SiteState } from './state.js';

export function decide(command: SiteCommand, state: SiteState): Result<SiteEvent[]> {
  switch (command.type) {
    case 'DefineSite':
      return catalogue.defineSite(command, state);
    case 'DefineSpace':
      return catalogue.defineSpace(command, state);
    case 'UpdateSpace':
      return catalogue.updateSpace(command, state);
    case 'DefineResource':
      return catalogue.defineResource(command, state);
    case 'DefineUnit':
      return catalogue.defineUnit(command, state);
    case 'ChangeUnitRules':
      return catalogue.changeUnitRules(command, state);
    case 'SetPrice':
      return catalogue.setPrice(command, state);
    case 'RequestReservation':
      return reservations.requestReservation(command, state);
    case 'ConfirmReservation':
      return reservations.confirmReservation(command, state);
    case 'ApproveReservation':
      return reservations.approveReservation(command, state);
    case 'DenyReservation':
      return reservations.denyReservation(command, state);
    case 'RecordPayment':
      return reservations.recordPayment(command, state);
    case 'ExpireReservation':
      return reservations.expireReservation(command, state);
    case 'CancelReservation':
      return reservations.cancelReservation(command, state);
    case 'ModifyReservation':
      return reservations.modifyReservation(command, state);
    case 'BlockTime':
      return reservations.blockTime(command, state);
    case 'MarkCompleted':
      return reservations.markCompleted(command, state);
    case 'MarkNoShow':
      return reservations.markNoShow(command, state);
    case 'CreateSeries':
      return series.createSeries(command, state);
    case 'ChangeSeries':
      return series.changeSeries(command, state);
    case 'CancelSeries':
      return series.cancelSeries(command, state);
    default: {
      const exhaustive: never = command;
      throw new Error(`unhandled site command ${(exhaustive as { type: string }).type}`);
    }
  }
}

export const siteDecider = {
  decide,
  evolve,
  initialState: initialSiteState,
} as const;

export type { SiteState };
