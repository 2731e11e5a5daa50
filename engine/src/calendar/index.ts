/**
 * The calendar module: Helsinki wall-clock time, Finnish holidays and opening
 * hours. All wall-clock logic of Vuoro goes through here.
 */
export * from './calendar.js';
export * from './holidays.js';
export * from './opening-hours.js';
