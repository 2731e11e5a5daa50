/**
 * The logger access control writes to: the shape of pino's (and fastify's),
 * so the gateway passes its own; tests pass `silentLogger` or a recorder.
 */
export interface AccessLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => undefined;
export const silentLogger: AccessLogger = { debug: noop, info: noop, warn: noop, error: noop };

/** Keeps what was logged, for tests that check a rejection was logged with its reason. */
export class RecordingLogger implements AccessLogger {
  readonly entries: { level: 'debug' | 'info' | 'warn' | 'error'; obj: Record<string, unknown>; msg: string | undefined }[] = [];
  debug(obj: object, msg?: string): void {
    this.entries.push({ level: 'debug', obj: obj as Record<string, unknown>, msg });
  }
  info(obj: object, msg?: string): void {
    this.entries.push({ level: 'info', obj: obj as Record<string, unknown>, msg });
  }
  warn(obj: object, msg?: string): void {
    this.entries.push({ level: 'warn', obj: obj as Record<string, unknown>, msg });
  }
  error(obj: object, msg?: string): void {
    this.entries.push({ level: 'error', obj: obj as Record<string, unknown>, msg });
  }
}
