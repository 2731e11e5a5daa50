/**
 * Recurring slots: a series books every occurrence of its weekly pattern in
 * one decision, atomically within the site partition. An occurrence that
 * cannot be booked is recorded as rejected, with a reason, never dropped.
 */
import { localDateOf, type LocalDate } from '../calendar/index.js';
import { FREE_QUOTE, quote } from '../catalogue/pricing.js';
import { checkSlot } from '../reservations/decide.js';
import { fail, ok, type DomainError, type Result } from '../shared/result.js';
import { actorLabel, type SiteCommandOf } from '../site/commands.js';
import type { PriceQuote, SeriesRejectionReason, SiteEvent } from '../site/events.js';
import { OPEN_STATES, type SeriesView, type SiteState, type UnitView } from '../site/state.js';
import { occurrencesOf, seriesPatternSchema, type SeriesPattern } from './pattern.js';

type Decision = Result<SiteEvent[]>;
const iso = (ms: number): string => new Date(ms).toISOString();

/** The reservation id of an occurrence: stable per series, revision and date, so a retried command books the same ids. */
export const occurrenceId = (seriesId: string, revision: number, date: LocalDate): string =>
  `${seriesId}_${revision}_${date.replaceAll('-', '')}`;

export function rejectionReason(error: DomainError): SeriesRejectionReason {
  switch (error.code) {
    case 'SLOT_CONFLICT':
      return 'OVERLAP';
    case 'OUTSIDE_OPENING_HOURS': {
      const closed = error.details?.closedReason;
      return closed === 'HOLIDAY' ? 'HOLIDAY' : closed === 'CLOSED' || closed === 'EXCEPTION' ? 'CLOSED' : 'OUTSIDE_OPENING_HOURS';
    }
    case 'BAD_START_INTERVAL':
      return 'OUTSIDE_INTERVAL';
    case 'NONEXISTENT_LOCAL_TIME':
    case 'DURATION_OUT_OF_RANGE':
    case 'CUSTOMER_GROUP_NOT_ALLOWED':
    case 'NO_PRICE':
      return error.code;
    default:
      return 'OTHER';
  }
}

interface Booker {
  seriesId: string;
  revision: number;
  unit: UnitView;
  customer: { customerId: string; customerGroupId: string; freeOfCharge: boolean };
  kind: 'seasonal' | 'staff' | 'behalf';
  now: number;
  /** Occurrences cancelled by the same decision: their slots count as free. */
  freed?: ReadonlySet<string>;
}

/** Books (or rejects) every occurrence of `pattern` from `from` on. */
function bookOccurrences(state: SiteState, b: Booker, pattern: SeriesPattern, from?: LocalDate): SiteEvent[] {
  const events: SiteEvent[] = [];
  const rules = b.unit.unit.rules;
  for (const occ of occurrencesOf(pattern, from)) {
    const reject = (error: DomainError, span?: { start: number; end: number }): void => {
      events.push({
        type: 'SeriesOccurrenceRejected',
        data: {
          seriesId: b.seriesId,
          revision: b.revision,
          date: occ.date,
          ...(span === undefined ? {} : { start: iso(span.start), end: iso(span.end) }),
          reason: rejectionReason(error),
          message: error.message,
        },
      });
    };
    if (!occ.span.ok) {
      reject(occ.span.error);
      continue;
    }
    const { start, end } = occ.span;
    const refusal = checkSlot(state, {
      unit: b.unit,
      start,
      end,
      kind: b.kind,
      now: b.now,
      customerId: b.customer.customerId,
      customerGroupId: b.customer.customerGroupId,
      skipCustomerLimits: true,
      ...(b.freed === undefined ? {} : { alsoIgnore: b.freed }),
    });
    if (refusal) {
      reject(refusal, { start, end });
      continue;
    }
    let price: PriceQuote = FREE_QUOTE('staff');
    if (b.kind === 'behalf') {
      const q = quote(b.unit.unit, b.customer, start, end);
      if (!q.ok) {
        reject({ code: 'NO_PRICE', message: 'No price for the customer group on this date.' }, { start, end });
        continue;
      }
      price = q.quote;
    }
    const reservationId = occurrenceId(b.seriesId, b.revision, occ.date);
    events.push(
      {
        type: 'ReservationRequested',
        data: {
          reservationId,
          unitId: b.unit.unit.unitId,
          spaceIds: b.unit.unit.spaceIds,
          resourceIds: b.unit.unit.resourceIds,
          customerId: b.customer.customerId,
          customerGroupId: b.customer.customerGroupId,
          kind: b.kind === 'behalf' ? 'behalf' : b.kind,
          start: iso(start),
          end: iso(end),
          bufferBeforeMinutes: rules.bufferBeforeMinutes,
          bufferAfterMinutes: rules.bufferAfterMinutes,
          price,
          holdExpiresAt: iso(b.now),
          seriesId: b.seriesId,
        },
      },
      // Weekly slots are confirmed at once: seasonal use is invoiced per season, not paid per booking.
      { type: 'ReservationConfirmed', data: { reservationId } },
    );
  }
  return events;
}

const staffOnly = (actorKind: string): Decision | undefined =>
  actorKind === 'customer' ? fail('FORBIDDEN', 'Recurring slots are booked by the booking office. Apply in a seasonal round or ask staff.') : undefined;

export function createSeries(cmd: SiteCommandOf<'CreateSeries'>, state: SiteState): Decision {
  const denied = staffOnly(cmd.meta.actor.kind);
  if (denied) return denied;
  const { data } = cmd;
  if (state.series.has(data.seriesId)) {
    return fail('ALREADY_EXISTS', `Series ${data.seriesId} already exists.`, { field: 'seriesId' });
  }
  const unit = state.units.get(data.unitId);
  if (unit === undefined) {
    return fail('UNKNOWN_UNIT', `Reservation unit ${data.unitId} does not exist in this site.`, { field: 'unitId' });
  }
  const occurrences = bookOccurrences(
    state,
    { seriesId: data.seriesId, revision: 1, unit, customer: data.customer, kind: data.kind, now: cmd.meta.now },
    data.pattern,
  );
  if (occurrences.length === 0) {
    return fail('EMPTY_SERIES', 'The pattern has no dates between fromDate and toDate; check the weekdays and dates.', {
      field: 'pattern',
    });
  }
  return ok([
    {
      type: 'SeriesCreated',
      data: {
        seriesId: data.seriesId,
        unitId: data.unitId,
        customerId: data.customer.customerId,
        customerGroupId: data.customer.customerGroupId,
        kind: data.kind,
        pattern: data.pattern,
        ...(data.roundId === undefined ? {} : { roundId: data.roundId }),
        by: actorLabel(cmd.meta.actor),
      },
    },
    ...occurrences,
  ]);
}

/** Open occurrences of a series that start on or after `fromDate` (Helsinki). */
function openOccurrencesFrom(state: SiteState, series: SeriesView, fromDate: LocalDate): string[] {
  return series.occurrenceIds.filter((id) => {
    const r = state.reservations.get(id);
    return r !== undefined && OPEN_STATES.has(r.state) && localDateOf(r.booking.start) >= fromDate;
  });
}

function lookupSeries(state: SiteState, seriesId: string): Result<SeriesView> {
  const series = state.series.get(seriesId);
  if (series === undefined) return fail('UNKNOWN_SERIES', `Series ${seriesId} does not exist in this site.`, { field: 'seriesId' });
  return ok(series);
}

export function changeSeries(cmd: SiteCommandOf<'ChangeSeries'>, state: SiteState): Decision {
  const denied = staffOnly(cmd.meta.actor.kind);
  if (denied) return denied;
  const { data } = cmd;
  const found = lookupSeries(state, data.seriesId);
  if (!found.ok) return found;
  const series = found.value;
  if (series.cancelledFrom !== undefined && series.cancelledFrom <= data.fromDate) {
    return fail('INVALID_STATE', `Series ${series.seriesId} is cancelled from ${series.cancelledFrom}.`);
  }
  const unitId = data.unitId ?? series.unitId;
  const unit = state.units.get(unitId);
  if (unit === undefined) return fail('UNKNOWN_UNIT', `Reservation unit ${unitId} does not exist in this site.`, { field: 'unitId' });
  const parsed = seriesPatternSchema.safeParse({
    ...series.pattern,
    ...(data.weekdays === undefined ? {} : { weekdays: data.weekdays }),
    ...(data.startTime === undefined ? {} : { startTime: data.startTime }),
    ...(data.endTime === undefined ? {} : { endTime: data.endTime }),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail('VALIDATION_FAILED', issue?.message ?? 'The changed pattern is not valid.', { field: issue?.path.join('.') ?? 'pattern' });
  }
  const by = actorLabel(cmd.meta.actor);
  const cancelled = openOccurrencesFrom(state, series, data.fromDate);
  const revision = series.revision + 1;
  const rebooked = bookOccurrences(
    state,
    {
      seriesId: series.seriesId,
      revision,
      unit,
      customer: { customerId: series.customerId, customerGroupId: series.customerGroupId, freeOfCharge: false },
      kind: series.kind,
      now: cmd.meta.now,
      freed: new Set(cancelled),
    },
    parsed.data,
    data.fromDate,
  );
  return ok([
    { type: 'SeriesChanged', data: { seriesId: series.seriesId, fromDate: data.fromDate, unitId, pattern: parsed.data, revision, by } },
    ...cancelled.map((reservationId): SiteEvent => ({ type: 'ReservationCancelled', data: { reservationId, by, reason: 'series changed' } })),
    ...rebooked,
  ]);
}

export function cancelSeries(cmd: SiteCommandOf<'CancelSeries'>, state: SiteState): Decision {
  const denied = staffOnly(cmd.meta.actor.kind);
  if (denied) return denied;
  const found = lookupSeries(state, cmd.data.seriesId);
  if (!found.ok) return found;
  const series = found.value;
  const by = actorLabel(cmd.meta.actor);
  const reason = cmd.data.reason === '' ? 'series cancelled' : cmd.data.reason;
  return ok([
    { type: 'SeriesCancelled', data: { seriesId: series.seriesId, fromDate: cmd.data.fromDate, reason, by } },
    ...openOccurrencesFrom(state, series, cmd.data.fromDate).map(
      (reservationId): SiteEvent => ({ type: 'ReservationCancelled', data: { reservationId, by, reason } }),
    ),
  ]);
}
