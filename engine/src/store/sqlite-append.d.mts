import type { Database } from 'better-sqlite3';
import type { AppendResult, ExpectedVersion } from './port.js';

export interface AppendItem {
  stream: string;
  rows: readonly { type: string; schemaVersion: number; data: string; metadata: string }[];
  expectedVersion: ExpectedVersion;
  commitId: string | undefined;
  recordedAt: string;
}

export type AppendOutcome =
  | { result: AppendResult }
  | { conflict: { stream: string; expected: ExpectedVersion; actual: number } }
  | { error: { message: string; code?: string } };

export function createAppender(db: Database): (batch: readonly AppendItem[]) => AppendOutcome[];
export function isBusyError(error: unknown): boolean;
