import { describeReservationSystem } from '../../../src/contract.js';
import { createEmmettPostgresSystem } from './index.js';

// A fair competitor first: the same booking rules Vuoro enforces, on the local PostgreSQL
// ($VUORO_BENCH_PG_URL or postgresql://postgres@127.0.0.1:5432/test), in a schema of its own.
describeReservationSystem('Emmett 0.42.0 on PostgreSQL, one stream per site', () =>
  createEmmettPostgresSystem({ schema: 'vuoro_bench_emmett_test' }),
);
describeReservationSystem('Emmett 0.42.0 on PostgreSQL, one stream per site and week', () =>
  createEmmettPostgresSystem({ schema: 'vuoro_bench_emmett_test_weekly', streams: 'site-week' }),
);
