import { describeReservationSystem } from '../../../src/contract.js';
import { createEmmettSqliteSystem } from './index.js';

// A fair competitor first: the same booking rules Vuoro enforces, on a real SQLite file.
describeReservationSystem('Emmett 0.38.5 on SQLite, one stream per site', () => createEmmettSqliteSystem());
describeReservationSystem('Emmett 0.38.5 on SQLite, one stream per site and week', () =>
  createEmmettSqliteSystem({ streams: 'site-week' }),
);
