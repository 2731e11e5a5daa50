/**
 * Tables of the analytics projection (one set per generation; see
 * runtime/projection.ts). Times are epoch milliseconds, money integer cents
 * (lost revenue, a product of milliseconds and a rate, is REAL cents).
 *
 * Facts: one row per leaf space and hour bucket (`f_hour`), and per leaf,
 * hour and customer group for what bookings add (`g_hour`). Every figure an
 * analyst sees is a sum of these columns over rows, so any grouping over any
 * date range is one aggregate; rollups keep the same columns so the big
 * ranges read fewer rows: per leaf by day and month, per site and for the
 * whole city by day, month and month x weekday x hour.
 *
 *   open_ms        open time: opening hours (holidays, exceptions, closures in
 *                  the rules) minus time blocked for closure or maintenance
 *   booked_ms      time of confirmed, completed and no-show reservations and of
 *                  time blocked for events
 *   occ_ms         occupied time (union of occupancy intervals covering the leaf)
 *   booked_occ_ms  booked time that was also occupied
 *   mon_open_ms    open time in hours a sensor covered the leaf (monitored)
 *   mon_booked_ms  booked time in monitored hours
 *   vacant_ms      max(open - booked, 0), per hour
 *   lost_cents     vacant time x list price per hour
 */
export const F_COLS = ['open_ms', 'booked_ms', 'occ_ms', 'booked_occ_ms', 'mon_open_ms', 'mon_booked_ms', 'vacant_ms', 'lost_cents'] as const;
/** The additive inputs of an hour (vacant and lost are derived from them and the price). */
export const F_INPUTS = 6;
export const F = { open: 0, booked: 1, occ: 2, bookedOcc: 3, monOpen: 4, monBooked: 5, vacant: 6, lost: 7 } as const;

export const G_COLS = ['booked_ms', 'booked_occ_ms', 'mon_booked_ms'] as const;
export const G = { booked: 0, bookedOcc: 1, monBooked: 2 } as const;

export const ANALYTICS_TABLES = [
  'meta',
  'sites',
  'spaces',
  'space_leaves',
  'units',
  'unit_rules',
  'unit_leaves',
  'groups',
  'reservations',
  'booking_segs',
  'closure_segs',
  'occupancy',
  'occ_union',
  'coverage',
  'devices',
  'device_status',
  'door_commands',
  'f_hour',
  'g_hour',
  'f_day',
  'g_day',
  'f_month',
  'g_month',
  's_day',
  'gs_day',
  's_month',
  'gs_month',
  's_mdh',
  'gs_mdh',
  'c_day',
  'gc_day',
  'c_month',
  'gc_month',
  'c_mdh',
  'gc_mdh',
] as const;
export type AnalyticsTable = (typeof ANALYTICS_TABLES)[number];

const fCols = (type = 'INTEGER') => F_COLS.map((c) => `${c} ${c === 'lost_cents' ? 'REAL' : type} NOT NULL DEFAULT 0`).join(', ');
const gCols = () => G_COLS.map((c) => `${c} INTEGER NOT NULL DEFAULT 0`).join(', ');

export function analyticsDdl(t: (name: AnalyticsTable) => string): string {
  return `
  CREATE TABLE ${t('meta')} (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE ${t('sites')} (site_no INTEGER PRIMARY KEY, site_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL);
  CREATE TABLE ${t('spaces')} (
    space_no INTEGER PRIMARY KEY, space_id TEXT NOT NULL UNIQUE, site_id TEXT NOT NULL, parent_id TEXT,
    name TEXT NOT NULL, capacity INTEGER, area_m2 REAL, annual_cost_cents INTEGER NOT NULL, costs TEXT
  );
  CREATE TABLE ${t('space_leaves')} (space_no INTEGER NOT NULL, leaf_no INTEGER NOT NULL, PRIMARY KEY (space_no, leaf_no)) WITHOUT ROWID;
  CREATE TABLE ${t('units')} (
    unit_id TEXT PRIMARY KEY, site_id TEXT NOT NULL, name TEXT NOT NULL, unit_type TEXT NOT NULL,
    space_ids TEXT NOT NULL, resource_ids TEXT NOT NULL, prices TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE ${t('unit_rules')} (unit_id TEXT NOT NULL, from_day INTEGER NOT NULL, rules TEXT NOT NULL, PRIMARY KEY (unit_id, from_day)) WITHOUT ROWID;
  CREATE TABLE ${t('unit_leaves')} (unit_id TEXT NOT NULL, leaf_no INTEGER NOT NULL, PRIMARY KEY (unit_id, leaf_no)) WITHOUT ROWID;
  CREATE TABLE ${t('groups')} (grp_no INTEGER PRIMARY KEY, grp_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, name_fi TEXT);

  CREATE TABLE ${t('reservations')} (
    reservation_id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    unit_id TEXT,
    kind TEXT NOT NULL,
    block_reason TEXT,
    customer_id TEXT NOT NULL,
    grp_no INTEGER NOT NULL,
    space_ids TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    start_day INTEGER NOT NULL,
    start_hod INTEGER NOT NULL,
    state TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    vat_cents INTEGER NOT NULL,
    paid_cents INTEGER NOT NULL DEFAULT 0,
    channel TEXT,
    series_id TEXT,
    requested_at INTEGER NOT NULL,
    handling INTEGER NOT NULL DEFAULT 0,
    handling_at INTEGER,
    decided_at INTEGER,
    decision TEXT,
    decided_by TEXT,
    ended_at INTEGER,
    effective INTEGER NOT NULL DEFAULT 0,
    leaf_count INTEGER NOT NULL DEFAULT 0,
    occupied_ms INTEGER NOT NULL DEFAULT 0,
    mon_ms INTEGER NOT NULL DEFAULT 0,
    no_show_marked INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX ${t('reservations')}_site ON ${t('reservations')} (site_id, start_ms);
  CREATE INDEX ${t('reservations')}_unit ON ${t('reservations')} (unit_id, start_ms);
  CREATE INDEX ${t('reservations')}_customer ON ${t('reservations')} (customer_id, start_ms);
  CREATE INDEX ${t('reservations')}_start ON ${t('reservations')} (start_day, start_ms);
  CREATE INDEX ${t('reservations')}_handling ON ${t('reservations')} (requested_at) WHERE handling = 1;

  CREATE TABLE ${t('booking_segs')} (
    leaf_no INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, reservation_id TEXT NOT NULL, grp_no INTEGER NOT NULL,
    PRIMARY KEY (leaf_no, start_ms, reservation_id)
  ) WITHOUT ROWID;
  CREATE TABLE ${t('closure_segs')} (
    leaf_no INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, reservation_id TEXT NOT NULL,
    PRIMARY KEY (leaf_no, start_ms, reservation_id)
  ) WITHOUT ROWID;

  CREATE TABLE ${t('occupancy')} (
    id INTEGER PRIMARY KEY, site_id TEXT NOT NULL, space_id TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,
    peak INTEGER, sensors TEXT NOT NULL, position INTEGER NOT NULL
  );
  CREATE INDEX ${t('occupancy')}_space ON ${t('occupancy')} (space_id, start_ms);
  CREATE TABLE ${t('occ_union')} (leaf_no INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, PRIMARY KEY (leaf_no, start_ms)) WITHOUT ROWID;
  CREATE TABLE ${t('coverage')} (leaf_no INTEGER PRIMARY KEY, from_hour INTEGER NOT NULL);

  CREATE TABLE ${t('devices')} (
    device_id TEXT PRIMARY KEY, site_id TEXT NOT NULL, kind TEXT NOT NULL, space_id TEXT, door_id TEXT,
    provisioned_at INTEGER NOT NULL, decommissioned_at INTEGER
  ) WITHOUT ROWID;
  CREATE TABLE ${t('device_status')} (
    device_id TEXT NOT NULL, from_ms INTEGER NOT NULL, to_ms INTEGER, online INTEGER NOT NULL, PRIMARY KEY (device_id, from_ms)
  ) WITHOUT ROWID;
  CREATE TABLE ${t('door_commands')} (
    command_id TEXT PRIMARY KEY, site_id TEXT NOT NULL, door_id TEXT NOT NULL, action TEXT NOT NULL, emergency INTEGER NOT NULL,
    issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, done_at INTEGER, outcome TEXT
  ) WITHOUT ROWID;
  CREATE INDEX ${t('door_commands')}_issued ON ${t('door_commands')} (issued_at);

  CREATE TABLE ${t('f_hour')} (
    leaf_no INTEGER NOT NULL, hour INTEGER NOT NULL, day INTEGER NOT NULL, hod INTEGER NOT NULL, dow INTEGER NOT NULL, month INTEGER NOT NULL,
    ${fCols()}, price_cph REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (leaf_no, hour)
  ) WITHOUT ROWID;
  CREATE TABLE ${t('g_hour')} (
    leaf_no INTEGER NOT NULL, hour INTEGER NOT NULL, grp_no INTEGER NOT NULL, day INTEGER NOT NULL, hod INTEGER NOT NULL, dow INTEGER NOT NULL, month INTEGER NOT NULL,
    ${gCols()},
    PRIMARY KEY (leaf_no, hour, grp_no)
  ) WITHOUT ROWID;
  CREATE TABLE ${t('f_day')} (
    leaf_no INTEGER NOT NULL, day INTEGER NOT NULL, dow INTEGER NOT NULL, week INTEGER NOT NULL, month INTEGER NOT NULL, ${fCols()},
    PRIMARY KEY (leaf_no, day)
  ) WITHOUT ROWID;
  CREATE TABLE ${t('g_day')} (
    leaf_no INTEGER NOT NULL, day INTEGER NOT NULL, grp_no INTEGER NOT NULL, dow INTEGER NOT NULL, week INTEGER NOT NULL, month INTEGER NOT NULL, ${gCols()},
    PRIMARY KEY (leaf_no, day, grp_no)
  ) WITHOUT ROWID;
  CREATE TABLE ${t('f_month')} (leaf_no INTEGER NOT NULL, month INTEGER NOT NULL, ${fCols()}, PRIMARY KEY (leaf_no, month)) WITHOUT ROWID;
  CREATE TABLE ${t('g_month')} (leaf_no INTEGER NOT NULL, month INTEGER NOT NULL, grp_no INTEGER NOT NULL, ${gCols()}, PRIMARY KEY (leaf_no, month, grp_no)) WITHOUT ROWID;
  CREATE TABLE ${t('s_day')} (
    site_no INTEGER NOT NULL, day INTEGER NOT NULL, dow INTEGER NOT NULL, week INTEGER NOT NULL, month INTEGER NOT NULL, ${fCols()},
    PRIMARY KEY (site_no, day)
  ) WITHOUT ROWID;
  CREATE TABLE ${t('gs_day')} (
    site_no INTEGER NOT NULL, day INTEGER NOT NULL, grp_no INTEGER NOT NULL, dow INTEGER NOT NULL, week INTEGER NOT NULL, month INTEGER NOT NULL, ${gCols()},
    PRIMARY KEY (site_no, day, grp_no)
  ) WITHOUT ROWID;
  CREATE TABLE ${t('s_month')} (site_no INTEGER NOT NULL, month INTEGER NOT NULL, ${fCols()}, PRIMARY KEY (site_no, month)) WITHOUT ROWID;
  CREATE TABLE ${t('gs_month')} (site_no INTEGER NOT NULL, month INTEGER NOT NULL, grp_no INTEGER NOT NULL, ${gCols()}, PRIMARY KEY (site_no, month, grp_no)) WITHOUT ROWID;
  CREATE TABLE ${t('s_mdh')} (
    site_no INTEGER NOT NULL, month INTEGER NOT NULL, dow INTEGER NOT NULL, hod INTEGER NOT NULL, ${fCols()},
    PRIMARY KEY (site_no, month, dow, hod)
  ) WITHOUT ROWID;
  CREATE TABLE ${t('gs_mdh')} (
    site_no INTEGER NOT NULL, month INTEGER NOT NULL, dow INTEGER NOT NULL, hod INTEGER NOT NULL, grp_no INTEGER NOT NULL, ${gCols()},
    PRIMARY KEY (site_no, month, dow, hod, grp_no)
  ) WITHOUT ROWID;
  CREATE TABLE ${t('c_day')} (day INTEGER PRIMARY KEY, dow INTEGER NOT NULL, week INTEGER NOT NULL, month INTEGER NOT NULL, ${fCols()}) WITHOUT ROWID;
  CREATE TABLE ${t('gc_day')} (
    day INTEGER NOT NULL, grp_no INTEGER NOT NULL, dow INTEGER NOT NULL, week INTEGER NOT NULL, month INTEGER NOT NULL, ${gCols()},
    PRIMARY KEY (day, grp_no)
  ) WITHOUT ROWID;
  CREATE TABLE ${t('c_month')} (month INTEGER PRIMARY KEY, ${fCols()}) WITHOUT ROWID;
  CREATE TABLE ${t('gc_month')} (month INTEGER NOT NULL, grp_no INTEGER NOT NULL, ${gCols()}, PRIMARY KEY (month, grp_no)) WITHOUT ROWID;
  CREATE TABLE ${t('c_mdh')} (month INTEGER NOT NULL, dow INTEGER NOT NULL, hod INTEGER NOT NULL, ${fCols()}, PRIMARY KEY (month, dow, hod)) WITHOUT ROWID;
  CREATE TABLE ${t('gc_mdh')} (
    month INTEGER NOT NULL, dow INTEGER NOT NULL, hod INTEGER NOT NULL, grp_no INTEGER NOT NULL, ${gCols()},
    PRIMARY KEY (month, dow, hod, grp_no)
  ) WITHOUT ROWID;
  `;
}
