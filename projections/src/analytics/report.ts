/**
 * The shape every analytics answer has, whatever the figure: columns (with
 * English and Finnish labels, so the CSV and the dashboard name them the same
 * way), rows, and the totals over everything the filter selected.
 */

export type ColumnKind = 'dimension' | 'hours' | 'rate' | 'cents' | 'count' | 'ms';

export interface Column {
  key: string;
  kind: ColumnKind;
  en: string;
  fi: string;
}

export type Cell = string | number | null;
export type Row = Record<string, Cell>;

export interface Report {
  report: string;
  query: Record<string, Cell | string[]>;
  columns: Column[];
  rows: Row[];
  totals: Row;
  /** The read model the answer came from: its feed position and when it last applied an event. */
  source: { checkpoint: number; appliedAt: string | null };
}

export const DIMENSIONS = ['space', 'site', 'unit', 'customerGroup', 'hour', 'weekday', 'day', 'week', 'month', 'season', 'year'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export const DIMENSION_COLUMNS: Record<Dimension, Column[]> = {
  space: [
    { key: 'spaceId', kind: 'dimension', en: 'Space id', fi: 'Tilan tunnus' },
    { key: 'spaceName', kind: 'dimension', en: 'Space', fi: 'Tila' },
  ],
  site: [
    { key: 'siteId', kind: 'dimension', en: 'Site id', fi: 'Toimipisteen tunnus' },
    { key: 'siteName', kind: 'dimension', en: 'Site', fi: 'Toimipiste' },
  ],
  unit: [
    { key: 'unitId', kind: 'dimension', en: 'Unit id', fi: 'Varausyksikön tunnus' },
    { key: 'unitName', kind: 'dimension', en: 'Reservation unit', fi: 'Varausyksikkö' },
  ],
  customerGroup: [
    { key: 'customerGroupId', kind: 'dimension', en: 'Customer group id', fi: 'Asiakasryhmän tunnus' },
    { key: 'customerGroupName', kind: 'dimension', en: 'Customer group', fi: 'Asiakasryhmä' },
  ],
  hour: [{ key: 'hour', kind: 'dimension', en: 'Hour of day', fi: 'Kellonaika' }],
  weekday: [{ key: 'weekday', kind: 'dimension', en: 'Weekday (1 = Monday)', fi: 'Viikonpäivä (1 = maanantai)' }],
  day: [{ key: 'date', kind: 'dimension', en: 'Date', fi: 'Päivä' }],
  week: [{ key: 'week', kind: 'dimension', en: 'ISO week', fi: 'Viikko' }],
  month: [{ key: 'month', kind: 'dimension', en: 'Month', fi: 'Kuukausi' }],
  season: [
    { key: 'season', kind: 'dimension', en: 'Season id', fi: 'Kauden tunnus' },
    { key: 'seasonName', kind: 'dimension', en: 'Season', fi: 'Kausi' },
  ],
  year: [{ key: 'year', kind: 'dimension', en: 'Year', fi: 'Vuosi' }],
};

export const WEEKDAY_NAMES = {
  en: ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'],
  fi: ['', 'maanantai', 'tiistai', 'keskiviikko', 'torstai', 'perjantai', 'lauantai', 'sunnuntai'],
};

/** A report as CSV (RFC 4180, comma-separated, CRLF), with headers in the language asked for. */
export function toCsv(report: Pick<Report, 'columns' | 'rows'>, lang: 'en' | 'fi' = 'en'): string {
  const esc = (v: Cell): string => {
    if (v === null) return '';
    const s = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6)) : v;
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [report.columns.map((c) => esc(lang === 'fi' ? c.fi : c.en)).join(',')];
  for (const row of report.rows) lines.push(report.columns.map((c) => esc(row[c.key] ?? null)).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
