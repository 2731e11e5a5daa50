/** Free-slot search over a site partition's in-memory state. */
export * from './slots.js';
