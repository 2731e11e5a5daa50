/**
 * Configuration by environment variables, validated once at start with clear
 * errors. Defaults run the whole system embedded: SQLite under ./data and the
 * demo catalogue.
 */
import { resolve } from 'node:path';
import { z } from 'zod';

const schema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  DATA_DIR: z.string().default('./data'),
  STORE: z.enum(['sqlite', 'memory', 'nats', 'eventstoredb']).default('sqlite'),
  SQLITE_SYNCHRONOUS: z.enum(['FULL', 'NORMAL']).default('FULL'),
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  EVENTSTORE_URL: z.string().optional(),
  CATALOGUE_FILE: z.string().default(resolve(import.meta.dirname, '../../infra/demo-catalogue.json')),
  /** Load the catalogue file at start (idempotent: an existing store is left as it is). */
  LOAD_CATALOGUE: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  SNAPSHOT_EVERY: z.coerce.number().int().min(0).default(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof schema>;

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${problems}`);
  }
  return parsed.data;
}
