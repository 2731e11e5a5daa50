/**
 * IDs are strings with a prefix that says what they name (`res_`, `ser_`,
 * `spc_`). They are opaque: nothing may be derived from their content, and
 * they are generated at the edge (never inside a decider, which has no
 * randomness).
 */
import { randomUUID } from 'node:crypto';

export const ID_PREFIXES = {
  site: 'sit_',
  space: 'spc_',
  resource: 'rsc_',
  unit: 'unt_',
  customerGroup: 'grp_',
  customer: 'cus_',
  reservation: 'res_',
  series: 'ser_',
  command: 'cmd_',
  commit: 'cmt_',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

export const newId = (kind: IdKind): string => ID_PREFIXES[kind] + randomUUID().replaceAll('-', '');

/** Accepts any id made of safe characters; the prefix is a convention checked at the edge. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/;
