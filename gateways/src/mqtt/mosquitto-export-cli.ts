/**
 * Writes Mosquitto's password and ACL files from Vuoro's device registry
 * (mosquitto-export.ts; how to use them: infra/mosquitto/README.md).
 *
 *   npx tsx gateways/src/mqtt/mosquitto-export-cli.ts --out /etc/mosquitto/vuoro [--secrets new-secrets.txt]
 *   systemctl reload mosquitto     # SIGHUP: Mosquitto re-reads both files and drops clients that no longer pass
 *
 * Reads the same environment as the service (vuoro.env): the store
 * (STORE, DATA_DIR, NATS_URL, EVENTSTORE_URL), MQTT_TOPIC_PREFIX, the
 * gateway's MQTT_USERNAME / MQTT_PASSWORD, and ACCESS_PEPPER_FILE (to check
 * the given secrets). Reads only; safe while the service runs. Files are
 * replaced atomically (write, then rename), mode 0640. Prints a JSON summary;
 * exits 1 with `error <CODE>: <what to do>` when it cannot export.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TopicTree } from '@vuoro/access-control';
import { openStore, type StoreConfig } from '@vuoro/engine';
import { readConfig } from '../config.js';
import { readMqttConfig } from './config.js';
import { MosquittoExportError, mosquittoAcl, mosquittoPasswordFile, parseSecrets, readDeviceRegistry } from './mosquitto-export.js';

const readIfExists = async (file: string): Promise<string | undefined> => {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

const writeAtomically = async (file: string, text: string): Promise<void> => {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o640 });
  await rename(tmp, file);
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, secrets: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help === true || values.out === undefined) {
    process.stderr.write('usage: mosquitto-export-cli.ts --out <dir> [--secrets <file of "<deviceId> <secret>" lines>]\n');
    process.exit(values.help === true ? 0 : 2);
  }
  const config = readConfig();
  const mqtt = readMqttConfig();
  if (mqtt.MQTT_USERNAME === undefined || mqtt.MQTT_PASSWORD === undefined) {
    throw new MosquittoExportError('MOSQUITTO_GATEWAY_CREDENTIALS_MISSING', 'set MQTT_USERNAME and MQTT_PASSWORD (the gateway connects to Mosquitto with them) in vuoro.env.');
  }
  const storeConfig: StoreConfig =
    config.STORE === 'nats'
      ? { kind: 'nats', servers: config.NATS_URL }
      : config.STORE === 'eventstoredb' && config.EVENTSTORE_URL !== undefined
        ? { kind: 'eventstoredb', url: config.EVENTSTORE_URL }
        : config.STORE === 'sqlite'
          ? { kind: 'sqlite', file: join(config.DATA_DIR, 'vuoro.sqlite') }
          : (() => {
              throw new Error(`STORE=${config.STORE}: the export needs a durable store (sqlite, nats, or eventstoredb with EVENTSTORE_URL)`);
            })();
  let secrets: Map<string, string> | undefined;
  if (values.secrets !== undefined) {
    const text = await readIfExists(values.secrets);
    if (text === undefined) throw new MosquittoExportError('MOSQUITTO_SECRETS_UNREADABLE', `${values.secrets} does not exist.`);
    secrets = parseSecrets(text);
  }
  const pepperText = await readIfExists(mqtt.ACCESS_PEPPER_FILE);
  const pepper = pepperText === undefined ? undefined : Buffer.from(pepperText.trim(), 'base64url');

  const store = await openStore(storeConfig);
  let devices;
  try {
    devices = await readDeviceRegistry(store);
  } finally {
    await store.close();
  }
  await mkdir(values.out, { recursive: true });
  const passwdFile = join(values.out, 'passwd');
  const aclFile = join(values.out, 'acl');
  const previous = await readIfExists(passwdFile);
  const passwd = mosquittoPasswordFile({
    devices,
    gateway: { username: mqtt.MQTT_USERNAME, password: mqtt.MQTT_PASSWORD },
    ...(secrets === undefined ? {} : { secrets }),
    ...(pepper === undefined ? {} : { pepper }),
    ...(previous === undefined ? {} : { previous }),
  });
  const acl = mosquittoAcl({ tree: new TopicTree(mqtt.MQTT_TOPIC_PREFIX), devices, gatewayUser: mqtt.MQTT_USERNAME });
  // The ACL first: a device in the new password file must never connect without its confinement.
  await writeAtomically(aclFile, acl);
  await writeAtomically(passwdFile, passwd.text);
  const summary = {
    passwordFile: passwdFile,
    aclFile,
    devices: devices.filter((d) => !d.decommissioned).length,
    decommissioned: devices.filter((d) => d.decommissioned).length,
    hashed: passwd.hashed.length,
    kept: passwd.kept.length,
    missing: passwd.missing,
    secretsChecked: pepper !== undefined && secrets !== undefined,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (passwd.missing.length > 0) {
    process.stderr.write(
      `warning: ${passwd.missing.length} active device(s) have no password line and cannot connect: give their secrets with --secrets (rotate a secret you no longer have: POST /v1/access/sites/{siteId}/devices/{deviceId}/rotate-secret).\n`,
    );
  }
}

main().catch((error: unknown) => {
  if (error instanceof MosquittoExportError) process.stderr.write(`error ${error.code}: ${error.message}\n`);
  else process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
