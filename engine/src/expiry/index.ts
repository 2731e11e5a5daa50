/** Finding holds and unpaid reservations past their deadline. */
export * from './due.js';
