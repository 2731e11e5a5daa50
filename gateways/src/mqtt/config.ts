/**
 * Configuration of the MQTT gateway and access control, from environment
 * variables (validated once, with clear errors), like `../config.ts`:
 *
 *   MQTT_MODE              embedded (default): an aedes broker in this process
 *                          external: connect as a client to MQTT_URL (e.g. the local Mosquitto)
 *                          off: no MQTT at all
 *   MQTT_HOST, MQTT_PORT   embedded listener (default 127.0.0.1:1884, next to a Mosquitto on 1883)
 *   MQTT_TLS_PORT, MQTT_TLS_CERT_FILE, MQTT_TLS_KEY_FILE, MQTT_TLS_CA_FILE
 *                          an extra TLS listener (PEM files)
 *   MQTT_URL, MQTT_USERNAME, MQTT_PASSWORD, MQTT_CLIENT_ID   external mode
 *   MQTT_TOPIC_PREFIX      default vuoro/v1
 *   MQTT_MAX_PACKET_BYTES  biggest packet a device may send (embedded; default 16384)
 *   ACCESS_LEAD_MINUTES / ACCESS_GRACE_MINUTES   code valid before start / after end (15 / 15)
 *   ACCESS_PIN_DIGITS      6..12 (6)
 *   ACCESS_KDF_ITERATIONS  PBKDF2 iterations of offline digests for new sites (20000)
 *   ACCESS_ALLOWLIST_TTL_HOURS   allow-list validity (48); re-issued every ttl/8
 *   ACCESS_COMMAND_TTL_SECONDS   how long a door command stays deliverable (30)
 *   ACCESS_MAX_SKEW_SECONDS      device clock tolerance (60)
 *   ACCESS_PEPPER_FILE, ACCESS_SIGNING_KEY_FILE  server secrets (created on first start under DATA_DIR)
 */
import { join } from 'node:path';
import { z } from 'zod';

const int = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(fallback);

const schema = z.object({
  DATA_DIR: z.string().default('./data'),
  MQTT_MODE: z.enum(['embedded', 'external', 'off']).default('embedded'),
  MQTT_HOST: z.string().default('127.0.0.1'),
  MQTT_PORT: int(1884, 0, 65535),
  MQTT_TLS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  MQTT_TLS_CERT_FILE: z.string().optional(),
  MQTT_TLS_KEY_FILE: z.string().optional(),
  MQTT_TLS_CA_FILE: z.string().optional(),
  MQTT_URL: z.string().default('mqtt://127.0.0.1:1883'),
  MQTT_USERNAME: z.string().optional(),
  MQTT_PASSWORD: z.string().optional(),
  MQTT_CLIENT_ID: z.string().max(64).optional(),
  MQTT_TOPIC_PREFIX: z.string().default('vuoro/v1'),
  MQTT_MAX_PACKET_BYTES: int(16_384, 1024, 1_048_576),
  ACCESS_LEAD_MINUTES: int(15, 0, 24 * 60),
  ACCESS_GRACE_MINUTES: int(15, 0, 24 * 60),
  ACCESS_PIN_DIGITS: int(6, 6, 12),
  ACCESS_KDF_ITERATIONS: int(20_000, 1000, 10_000_000),
  ACCESS_ALLOWLIST_TTL_HOURS: int(48, 1, 24 * 30),
  ACCESS_COMMAND_TTL_SECONDS: int(30, 1, 300),
  ACCESS_MAX_SKEW_SECONDS: int(60, 1, 3600),
  ACCESS_PEPPER_FILE: z.string().optional(),
  ACCESS_SIGNING_KEY_FILE: z.string().optional(),
});

export type MqttConfig = z.infer<typeof schema> & { ACCESS_PEPPER_FILE: string; ACCESS_SIGNING_KEY_FILE: string };

export function readMqttConfig(env: NodeJS.ProcessEnv = process.env): MqttConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid MQTT / access control configuration:\n${problems}`);
  }
  const c = parsed.data;
  if (c.MQTT_TLS_PORT !== undefined && (c.MQTT_TLS_CERT_FILE === undefined || c.MQTT_TLS_KEY_FILE === undefined)) {
    throw new Error('Invalid MQTT / access control configuration:\n  MQTT_TLS_PORT needs MQTT_TLS_CERT_FILE and MQTT_TLS_KEY_FILE');
  }
  return {
    ...c,
    ACCESS_PEPPER_FILE: c.ACCESS_PEPPER_FILE ?? join(c.DATA_DIR, 'access-pepper'),
    ACCESS_SIGNING_KEY_FILE: c.ACCESS_SIGNING_KEY_FILE ?? join(c.DATA_DIR, 'access-signing-key.pem'),
  };
}
