/**
 * Who a request acts as. A `book` channel acts for a customer it vouches
 * for, named in the `Vuoro-Customer` header; the customer's group and whether
 * they book free of charge come from the engine's directory, never from the
 * request. A `staff` key acts as its staff member.
 */
import type { Actor, Engine } from '@vuoro/engine';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../http/problems.js';
import { hasScope, principalOf } from './plugin.js';

export const CUSTOMER_HEADER = 'vuoro-customer';

export interface BookingCustomer {
  customerId: string;
  customerGroupId: string;
  freeOfCharge: boolean;
}

export type Acting =
  | { kind: 'customer'; actor: Extract<Actor, { kind: 'customer' }>; customer: BookingCustomer }
  | { kind: 'staff'; actor: Extract<Actor, { kind: 'staff' }> };

/** A registered customer as the directory knows them, with their group's terms. */
export function lookupCustomer(engine: Engine, customerId: string, field = 'customerId', where: 'body' | 'header' | 'query' = 'body'): BookingCustomer {
  const found = engine.directory.read((s) => {
    const c = s.customers.get(customerId);
    if (c === undefined) return undefined;
    return { customerId: c.customerId, customerGroupId: c.customerGroupId, freeOfCharge: s.groups.get(c.customerGroupId)?.freeOfCharge ?? false };
  });
  if (found === undefined) {
    throw new ApiError('UNKNOWN_CUSTOMER', `Customer ${customerId} is not registered. Register the customer first (POST /v1/customers).`, {
      field,
      errors: [{ field, in: where, message: 'unknown customer' }],
    });
  }
  return found;
}

/**
 * The identity a request acts as. `staffOnly`: the action is a staff action
 * (the key must have `staff`; a customer header is ignored). Otherwise a
 * customer header makes a `book` key act for that customer, and a staff key
 * without one acts as staff.
 */
export function actingOf(req: FastifyRequest, engine: Engine, options: { staffOnly?: boolean } = {}): Acting {
  const key = principalOf(req);
  const staff = (): Acting => {
    if (!hasScope(key, 'staff')) {
      throw new ApiError('INSUFFICIENT_SCOPE', "This is a booking office action: it needs an API key with the 'staff' scope.", {
        details: { required: ['staff'], granted: key.scopes },
      });
    }
    return { kind: 'staff', actor: { kind: 'staff', staffId: key.staffId ?? key.keyId } };
  };
  if (options.staffOnly === true) return staff();
  const header = req.headers[CUSTOMER_HEADER];
  const customerId = Array.isArray(header) ? header[0] : header;
  if (customerId !== undefined && customerId !== '') {
    if (!hasScope(key, 'book')) {
      throw new ApiError('INSUFFICIENT_SCOPE', "Acting for a customer (the Vuoro-Customer header) needs an API key with the 'book' scope.", {
        details: { required: ['book'], granted: key.scopes },
      });
    }
    const customer = lookupCustomer(engine, customerId, 'Vuoro-Customer', 'header');
    return { kind: 'customer', actor: { kind: 'customer', customerId: customer.customerId }, customer };
  }
  if (hasScope(key, 'staff')) return staff();
  throw new ApiError('VALIDATION_FAILED', 'A booking channel acts for a customer: name them in the Vuoro-Customer header (e.g. "Vuoro-Customer: cus_123").', {
    field: 'Vuoro-Customer',
    errors: [{ field: 'Vuoro-Customer', in: 'header', message: 'required for keys without the staff scope' }],
  });
}
