// One JSON file per bench in loadtest/results/, in one shape, so runs can be
// compared over time and across machines:
//
//   { "bench": "engine", "command": "npm run bench:engine", "at": "<ISO time>",
//     "metrics":   { "reservationsPerSec": 1234.5, ... },          // the system under test
//     "baselines": { "emmett-postgres": { "reservationsPerSec": 321.0, ... } } }

import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Metrics = Record<string, number>;

export interface BenchResult {
  bench: string;
  command: string;
  at: string;
  metrics: Metrics;
  baselines: Record<string, Metrics>;
}

export interface WriteResultInput {
  bench: string;
  command: string;
  metrics: Metrics;
  baselines?: Record<string, Metrics>;
}

export interface WriteResultOptions {
  /** Directory to write to (default loadtest/results). */
  dir?: string;
  /** Where the table goes (default console.log); pass null to stay quiet. */
  print?: ((text: string) => void) | null;
  /** Timestamp to record (default now). */
  at?: Date;
}

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** Writes loadtest/results/<bench>.json (atomically) and prints a table with ratios. Returns the file path. */
export async function writeResult(input: WriteResultInput, options: WriteResultOptions = {}): Promise<string> {
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(input.bench)) {
    throw new RangeError(`bench name "${input.bench}" must be a plain file name (letters, digits, . _ -)`);
  }
  const result: BenchResult = {
    bench: input.bench,
    command: input.command,
    at: (options.at ?? new Date()).toISOString(),
    metrics: checkedMetrics('metrics', input.metrics),
    baselines: Object.fromEntries(
      Object.entries(input.baselines ?? {}).map(([name, m]) => [name, checkedMetrics(`baselines.${name}`, m)]),
    ),
  };
  const dir = options.dir ?? RESULTS_DIR;
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${input.bench}.json`);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(result, null, 2)}\n`);
  await rename(tmp, path);
  const print = options.print === undefined ? console.log : options.print;
  print?.(`${formatResult(result)}\nwrote ${path}`);
  return path;
}

function checkedMetrics(where: string, metrics: Metrics): Metrics {
  for (const [name, value] of Object.entries(metrics)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new RangeError(`${where}.${name} is ${String(value)}: every metric must be a finite number`);
    }
  }
  return { ...metrics };
}

/**
 * A table with one row per metric and one column for this run plus one per
 * baseline, then "this run / baseline" ratios for metrics both have.
 */
export function formatResult(result: BenchResult): string {
  const baselineNames = Object.keys(result.baselines);
  const names = [...new Set([...Object.keys(result.metrics), ...baselineNames.flatMap((b) => Object.keys(result.baselines[b] ?? {}))])];
  const header = ['metric', 'this run', ...baselineNames];
  const rows = names.map((name) => [
    name,
    formatNumber(result.metrics[name]),
    ...baselineNames.map((b) => formatNumber(result.baselines[b]?.[name])),
  ]);
  const lines = [`bench ${result.bench} at ${result.at}`, `command: ${result.command}`, ...table([header, ...rows])];

  const ratios: string[] = [];
  for (const name of Object.keys(result.metrics)) {
    const ours = result.metrics[name] as number;
    const parts = baselineNames.flatMap((b) => {
      const theirs = result.baselines[b]?.[name];
      return theirs === undefined || theirs === 0 ? [] : [`${formatRatio(ours / theirs)}x ${b}`];
    });
    if (parts.length > 0) ratios.push(`  ${name}: ${parts.join(', ')}`);
  }
  if (ratios.length > 0) lines.push('ratios (this run / baseline):', ...ratios);
  return lines.join('\n');
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length))) ?? [];
  return rows.map((row) =>
    row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col] ?? 0) : cell.padStart(widths[col] ?? 0))).join('  '),
  );
}

function formatRatio(ratio: number): string {
  if (Math.abs(ratio) >= 10) return ratio.toFixed(1);
  if (Math.abs(ratio) >= 0.1) return ratio.toFixed(2);
  return ratio.toPrecision(2);
}

export function formatNumber(value: number | undefined): string {
  if (value === undefined) return '-';
  const abs = Math.abs(value);
  if (Number.isInteger(value) || abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}
