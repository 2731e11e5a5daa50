/**
 * The nodes' CommonJS modules, loaded with Node's own require (as Node-RED
 * loads them), typed from their JSDoc.
 */
import { createRequire } from 'node:module';
import type * as topicsModule from '../lib/topics.js';
import type * as occupancyModule from '../lib/occupancy.js';
import type * as doorModule from '../lib/door.js';
import type * as cabinetModule from '../lib/cabinet.js';
import type * as bookingModule from '../lib/booking.js';
import type * as jwsModule from '../lib/jws.js';
import type * as errorsModule from '../lib/errors.js';
import type * as connectionModule from '../lib/connection.js';

export const requireCjs = createRequire(import.meta.url);

export const topics = requireCjs('../lib/topics.js') as typeof topicsModule;
export const occupancy = requireCjs('../lib/occupancy.js') as typeof occupancyModule;
export const door = requireCjs('../lib/door.js') as typeof doorModule;
export const cabinet = requireCjs('../lib/cabinet.js') as typeof cabinetModule;
export const booking = requireCjs('../lib/booking.js') as typeof bookingModule;
export const jws = requireCjs('../lib/jws.js') as typeof jwsModule;
export const errors = requireCjs('../lib/errors.js') as typeof errorsModule;
export const connection = requireCjs('../lib/connection.js') as typeof connectionModule;
