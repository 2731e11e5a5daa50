/**
 * External-broker mode (MQTT_MODE=external): Mosquitto confines the devices,
 * so the device registry of access control is written out as Mosquitto's
 * password file and ACL file (infra/mosquitto/README.md). The CLI is
 * `mosquitto-export-cli.ts`; this module is the pure part plus the registry read.
 *
 * - ACL: one `user` block per device with exactly the topics the embedded
 *   broker allows it (`publishableTopics` / `subscribableFilters` of
 *   access-control/src/devices/acl.ts: writes to its own topics, reads of a
 *   lock's own commands, allow-list and auth responses), and one for the
 *   gateway (reads what devices send, writes answers, allow-lists, commands).
 *   Mosquitto cannot refuse a retained message per topic or a client id: the
 *   config sets `use_username_as_clientid`, and the gateway refuses retained
 *   requests and events itself (gateway.ts).
 * - Passwords: `$7$` lines (PBKDF2-SHA512, what `mosquitto_passwd` writes and
 *   Mosquitto 2.x reads). The registry keeps only an HMAC of each device
 *   secret (the secret is shown once, when a device is provisioned or its
 *   secret rotated), so a hash can only be made when the secret is given
 *   (`--secrets`). Each device line carries, in a comment, a fingerprint of
 *   the registry's digest; a later export keeps the line while that digest is
 *   unchanged, and drops it once the secret was rotated or the device
 *   decommissioned. Devices without a usable line are reported as missing.
 */
import { createHash, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  ACCESS_DIRECTORY_STREAM,
  ACCESS_EVENT_SCHEMAS,
  accessStream,
  deviceSecretDigest,
  publishableTopics,
  subscribableFilters,
  type DeviceIdentity,
  type TopicTree,
} from '@vuoro/access-control';
import type { EventStore } from '@vuoro/engine';

export interface RegisteredDevice extends DeviceIdentity {
  secretDigest: string;
  decommissioned: boolean;
}

/** An export that cannot be made as asked; `code` is stable. */
export class MosquittoExportError extends Error {
  constructor(
    readonly code: 'MOSQUITTO_GATEWAY_CREDENTIALS_MISSING' | 'MOSQUITTO_SECRET_UNKNOWN_DEVICE' | 'MOSQUITTO_SECRET_MISMATCH' | 'MOSQUITTO_SECRETS_UNREADABLE' | 'MOSQUITTO_BAD_USERNAME',
    message: string,
  ) {
    super(message);
    this.name = 'MosquittoExportError';
  }
}

/** Device iterations: secrets are 256 random bits, so the KDF adds nothing but connect cost when 10,000 locks reconnect at once. */
export const DEVICE_HASH_ITERATIONS = 1000;
/** The gateway's password may be chosen by a person: make guessing it slow (one connect per start). */
export const GATEWAY_HASH_ITERATIONS = 200_000;

/** A `mosquitto_passwd`-compatible hash: `$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512>`. */
export function mosquittoPasswordHash(password: string, iterations: number, salt: Buffer = randomBytes(12)): string {
  const hash = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Checks a password against a `$7$` hash (as Mosquitto does). */
export function verifyMosquittoPassword(password: string, line: string): boolean {
  const m = /^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(line);
  if (m === null) return false;
  const expected = Buffer.from(m[3] as string, 'base64');
  const actual = pbkdf2Sync(password, Buffer.from(m[2] as string, 'base64'), Number(m[1]), expected.length, 'sha512');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Reads every device of every site with access control from the event store (state events only; nothing is written). */
export async function readDeviceRegistry(store: EventStore): Promise<RegisteredDevice[]> {
  const sites = new Set<string>();
  for (const e of await store.readStream(ACCESS_DIRECTORY_STREAM)) {
    const siteId = (e.data as { siteId?: unknown }).siteId;
    if (typeof siteId === 'string') sites.add(siteId);
  }
  const devices = new Map<string, RegisteredDevice>();
  for (const siteId of [...sites].sort()) {
    for (const e of await store.readStream(accessStream(siteId))) {
      switch (e.type) {
        case 'DeviceProvisioned': {
          const d = ACCESS_EVENT_SCHEMAS.DeviceProvisioned.parse(e.data);
          devices.set(d.deviceId, {
            deviceId: d.deviceId,
            siteId: d.siteId,
            kind: d.kind,
            doorId: d.doorId,
            spaceId: d.spaceId,
            cabinetId: d.cabinetId,
            secretDigest: d.secretDigest,
            decommissioned: false,
          });
          break;
        }
        case 'DeviceSecretRotated': {
          const d = ACCESS_EVENT_SCHEMAS.DeviceSecretRotated.parse(e.data);
          const device = devices.get(d.deviceId);
          if (device !== undefined) device.secretDigest = d.secretDigest;
          break;
        }
        case 'DeviceDecommissioned': {
          const d = ACCESS_EVENT_SCHEMAS.DeviceDecommissioned.parse(e.data);
          const device = devices.get(d.deviceId);
          if (device !== undefined) device.decommissioned = true;
          break;
        }
      }
    }
  }
  return [...devices.values()].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
}

/** What the gateway reads (everything devices send) and writes (answers, allow-lists, commands). */
export function gatewayTopics(tree: TopicTree): { read: string[]; write: string[] } {
  const door = `${tree.prefix}/sites/+/doors/+`;
  return {
    read: tree.gatewayFilters(),
    write: [`${door}/auth/res/+`, `${door}/allowlist`, `${door}/cmd`],
  };
}

// Usernames and topics go into line-based files: nothing that could start another line or a second token.
const SAFE_USERNAME = /^[A-Za-z0-9_.@-]{1,128}$/;
const checkUsername = (name: string, what: string): void => {
  if (!SAFE_USERNAME.test(name)) {
    throw new MosquittoExportError('MOSQUITTO_BAD_USERNAME', `${what} '${name.slice(0, 40)}' cannot be a Mosquitto username: use letters, digits and _ . @ - only.`);
  }
};

export interface AclInput {
  tree: TopicTree;
  devices: readonly RegisteredDevice[];
  gatewayUser: string;
  generatedAt?: Date;
}

/** The ACL file: the gateway's block, then one block per active device. */
export function mosquittoAcl(input: AclInput): string {
  checkUsername(input.gatewayUser, 'MQTT_USERNAME');
  const active = input.devices.filter((d) => !d.decommissioned);
  const g = gatewayTopics(input.tree);
  const lines = [
    `# Vuoro device ACL for Mosquitto, generated ${(input.generatedAt ?? new Date()).toISOString()} from the device registry`,
    `# (${active.length} active devices, topic prefix ${input.tree.prefix}). Do not edit: run the export again (infra/mosquitto/README.md).`,
    '',
    '# The Vuoro gateway (MQTT_USERNAME).',
    `user ${input.gatewayUser}`,
    ...g.read.map((t) => `topic read ${t}`),
    ...g.write.map((t) => `topic write ${t}`),
  ];
  for (const d of active) {
    checkUsername(d.deviceId, 'device id');
    lines.push('', `# ${d.kind} at site ${d.siteId}${d.doorId === undefined ? '' : `, door ${d.doorId}`}${d.spaceId === undefined ? '' : `, space ${d.spaceId}`}${d.cabinetId === undefined ? '' : `, cabinet ${d.cabinetId}`}`);
    lines.push(`user ${d.deviceId}`);
    for (const topic of publishableTopics(input.tree, d).keys()) lines.push(`topic write ${topic}`);
    for (const filter of subscribableFilters(input.tree, d)) lines.push(`topic read ${filter}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A short, one-way fingerprint of a device's secret digest: tells a later export whether the secret changed. */
export const digestFingerprint = (secretDigest: string): string => createHash('sha256').update(`vuoro-mosquitto:${secretDigest}`).digest('hex').slice(0, 24);

const FINGERPRINT_LINE = /^# vuoro-device (\S+) secret (\S+)$/;

/** The device lines of an earlier password file: username -> { fingerprint, hash line }. */
export function parsePasswordFile(text: string): Map<string, { fingerprint: string | undefined; line: string }> {
  const out = new Map<string, { fingerprint: string | undefined; line: string }>();
  let pending: { user: string; fingerprint: string } | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const f = FINGERPRINT_LINE.exec(line);
    if (f !== null) {
      pending = { user: f[1] as string, fingerprint: f[2] as string };
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const user = line.slice(0, colon);
    out.set(user, { fingerprint: pending?.user === user ? pending.fingerprint : undefined, line });
    pending = undefined;
  }
  return out;
}

/** Reads `--secrets`: one `<deviceId> <secret>` per line (as the provisioning answer gave them), `#` comments. */
export function parseSecrets(text: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) throw new MosquittoExportError('MOSQUITTO_SECRETS_UNREADABLE', `secrets line ${i + 1}: expected '<deviceId> <secret>'`);
    out.set(parts[0] as string, parts[1] as string);
  });
  return out;
}

export interface PasswordFileInput {
  devices: readonly RegisteredDevice[];
  gateway: { username: string; password: string };
  /** The password file written last time (kept lines are reused). */
  previous?: string;
  /** Device secrets just handed out (provisioning, rotation): deviceId -> secret. */
  secrets?: ReadonlyMap<string, string>;
  /** The server pepper: checks each given secret against the registry before hashing it. */
  pepper?: Buffer;
  generatedAt?: Date;
}

export interface PasswordFileResult {
  text: string;
  /** Devices hashed from a given secret. */
  hashed: string[];
  /** Devices whose line was kept from the previous file. */
  kept: string[];
  /** Active devices with no usable line: they cannot connect until their secret is given (or rotated and given). */
  missing: string[];
}

export function mosquittoPasswordFile(input: PasswordFileInput): PasswordFileResult {
  const { username, password } = input.gateway;
  checkUsername(username, 'MQTT_USERNAME');
  if (password.length === 0) throw new MosquittoExportError('MOSQUITTO_GATEWAY_CREDENTIALS_MISSING', 'MQTT_PASSWORD is empty.');
  const byId = new Map(input.devices.map((d) => [d.deviceId, d]));
  for (const [deviceId, secret] of input.secrets ?? []) {
    const d = byId.get(deviceId);
    if (d === undefined || d.decommissioned) {
      throw new MosquittoExportError('MOSQUITTO_SECRET_UNKNOWN_DEVICE', `a secret is given for ${deviceId}, which is not an active device of the registry.`);
    }
    if (input.pepper !== undefined && deviceSecretDigest(input.pepper, secret) !== d.secretDigest) {
      throw new MosquittoExportError('MOSQUITTO_SECRET_MISMATCH', `the secret given for ${deviceId} is not its current secret (rotated since, or mistyped).`);
    }
  }
  const previous = parsePasswordFile(input.previous ?? '');
  const out = [
    `# Vuoro Mosquitto password file, generated ${(input.generatedAt ?? new Date()).toISOString()}. Do not edit: run the export again.`,
    '# Each device line follows a fingerprint of its secret digest in the registry; a rotated secret drops the line.',
    `${username}:${mosquittoPasswordHash(password, GATEWAY_HASH_ITERATIONS)}`,
  ];
  const result: PasswordFileResult = { text: '', hashed: [], kept: [], missing: [] };
  for (const d of input.devices) {
    if (d.decommissioned) continue;
    checkUsername(d.deviceId, 'device id');
    const fingerprint = digestFingerprint(d.secretDigest);
    const secret = input.secrets?.get(d.deviceId);
    const old = previous.get(d.deviceId);
    let line: string | undefined;
    if (secret !== undefined) {
      line = `${d.deviceId}:${mosquittoPasswordHash(secret, DEVICE_HASH_ITERATIONS)}`;
      result.hashed.push(d.deviceId);
    } else if (old !== undefined && old.fingerprint === fingerprint) {
      line = old.line;
      result.kept.push(d.deviceId);
    } else {
      result.missing.push(d.deviceId);
      continue;
    }
    out.push(`# vuoro-device ${d.deviceId} secret ${fingerprint}`, line);
  }
  result.text = `${out.join('\n')}\n`;
  return result;
}
