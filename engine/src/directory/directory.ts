/**
 * The directory: what is shared by every site partition — customer groups,
 * customers, and the list of sites (so a runtime knows which partitions
 * exist). It is a small partition of its own (stream `directory`).
 */
import { z } from 'zod';
import { customerGroupSchema, customerSchema, idSchema, siteSchema, type Customer, type CustomerGroup, type Site } from '../catalogue/schemas.js';
import { fail, ok, type Result } from '../shared/result.js';
import type { CommandMeta } from '../site/commands.js';

export const DIRECTORY_STREAM = 'directory';

export const DIRECTORY_COMMAND_SCHEMAS = {
  DefineCustomerGroup: z.object({ group: customerGroupSchema }).strict(),
  RegisterCustomer: z.object({ customer: customerSchema }).strict(),
  RegisterSite: z.object({ site: siteSchema }).strict(),
} as const;
type Schemas = typeof DIRECTORY_COMMAND_SCHEMAS;
export type DirectoryCommand = { [K in keyof Schemas]: { type: K; data: z.output<Schemas[K]>; meta: CommandMeta } }[keyof Schemas];

export type DirectoryEvent =
  | { type: 'CustomerGroupDefined'; data: { group: CustomerGroup } }
  | { type: 'CustomerRegistered'; data: { customer: Customer } }
  | { type: 'SiteRegistered'; data: { site: Site } };

export interface DirectoryState {
  groups: Map<string, CustomerGroup>;
  customers: Map<string, Customer>;
  sites: Map<string, Site>;
}

export const initialDirectoryState = (): DirectoryState => ({ groups: new Map(), customers: new Map(), sites: new Map() });

export function decideDirectory(command: DirectoryCommand, state: DirectoryState): Result<DirectoryEvent[]> {
  if (command.meta.actor.kind === 'customer') return fail('FORBIDDEN', 'Only staff can change the directory.');
  switch (command.type) {
    case 'DefineCustomerGroup': {
      const { group } = command.data;
      if (state.groups.has(group.customerGroupId)) {
        return fail('ALREADY_EXISTS', `Customer group ${group.customerGroupId} already exists.`, { field: 'group.customerGroupId' });
      }
      return ok([{ type: 'CustomerGroupDefined', data: { group } }]);
    }
    case 'RegisterCustomer': {
      const { customer } = command.data;
      if (state.customers.has(customer.customerId)) {
        return fail('ALREADY_EXISTS', `Customer ${customer.customerId} already exists.`, { field: 'customer.customerId' });
      }
      if (!state.groups.has(customer.customerGroupId)) {
        return fail('UNKNOWN_CUSTOMER_GROUP', `Customer group ${customer.customerGroupId} does not exist; define it first.`, {
          field: 'customer.customerGroupId',
        });
      }
      return ok([{ type: 'CustomerRegistered', data: { customer } }]);
    }
    case 'RegisterSite': {
      const { site } = command.data;
      if (state.sites.has(site.siteId)) {
        return fail('ALREADY_EXISTS', `Site ${site.siteId} is already registered.`, { field: 'site.siteId' });
      }
      return ok([{ type: 'SiteRegistered', data: { site } }]);
    }
    default: {
      const exhaustive: never = command;
      throw new Error(`unhandled directory command ${(exhaustive as { type: string }).type}`);
    }
  }
}

export function evolveDirectory(state: DirectoryState, event: DirectoryEvent): DirectoryState {
  switch (event.type) {
    case 'CustomerGroupDefined':
      state.groups.set(event.data.group.customerGroupId, event.data.group);
      return state;
    case 'CustomerRegistered':
      state.customers.set(event.data.customer.customerId, event.data.customer);
      return state;
    case 'SiteRegistered':
      state.sites.set(event.data.site.siteId, event.data.site);
      return state;
  }
}

export const directoryDecider = { decide: decideDirectory, evolve: evolveDirectory, initialState: initialDirectoryState } as const;

export const DIRECTORY_EVENT_TYPES = new Set(['CustomerGroupDefined', 'CustomerRegistered', 'SiteRegistered']);

export const siteStream = (siteId: string): string => `site-${siteId}`;
export const isSiteId = (x: unknown): x is string => idSchema.safeParse(x).success;
