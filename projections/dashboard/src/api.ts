/** The analytics API as the dashboard calls it: the analyst's key as a bearer token, problems as errors. */

export type Cell = string | number | null;
export interface Column {
  key: string;
  kind: string;
  en: string;
  fi: string;
}
export interface Report {
  report: string;
  columns: Column[];
  rows: Record<string, Cell>[];
  totals: Record<string, Cell>;
  source: { checkpoint: number; appliedAt: string | null };
}
export interface Sla {
  handling: Report;
  doorCommands: { withinPromiseShare: number | null; issued: number; medianRoundTripMs: number | null };
  devices: { onlineShare: number | null; trackedHours: number };
}
export interface Dimensions {
  sites: { id: string; name: string }[];
  units: { id: string; name: string; siteId: string }[];
  customerGroups: { id: string; name: string; nameFi: string | null }[];
  range: { from: string | null; to: string | null };
}

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const KEY = 'vuoro.analystKey';

export const storedKey = (): string | null => sessionStorage.getItem(KEY);
export const storeKey = (key: string | null): void => (key === null ? sessionStorage.removeItem(KEY) : sessionStorage.setItem(KEY, key));

export async function get<T>(path: string, params: Record<string, string | undefined>): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const res = await fetch(`${path}?${q.toString()}`, { headers: { authorization: `Bearer ${storedKey() ?? ''}`, accept: 'application/json' } });
  if (!res.ok) {
    let code = 'HTTP_ERROR';
    let detail = res.statusText;
    try {
      const p = (await res.json()) as { code?: string; detail?: string };
      code = p.code ?? code;
      detail = p.detail ?? detail;
    } catch {
      // not a problem document
    }
    throw new ApiProblem(res.status, code, detail);
  }
  return (await res.json()) as T;
}

export const csvUrl = (path: string, params: Record<string, string | undefined>): string => {
  const q = new URLSearchParams({ format: 'csv' });
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  return `${path}?${q.toString()}`;
};
