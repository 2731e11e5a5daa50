/**
 * The two server secrets of access control, kept in files outside the event
 * store (mode 0600) and created on first start:
 *
 * - the pepper: the HMAC key of PIN and device-secret digests. Losing it
 *   invalidates every code and device secret; leaking it together with the
 *   event store lets someone test PINs offline.
 * - the Ed25519 signing key of allow-lists and door commands. Locks pin its
 *   public key (shown in the provisioning answer).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { newPepper } from '../crypto/codes.js';
import { Signer } from '../crypto/jws.js';

const exists = async (file: string): Promise<Buffer | undefined> => {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

export async function loadOrCreatePepper(file: string): Promise<{ pepper: Buffer; created: boolean }> {
  const found = await exists(file);
  if (found !== undefined) {
    const pepper = Buffer.from(found.toString('utf8').trim(), 'base64url');
    if (pepper.length < 32) throw new Error(`${file}: the pepper must be at least 32 bytes (base64url)`);
    return { pepper, created: false };
  }
  const pepper = newPepper();
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${pepper.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  return { pepper, created: true };
}

export async function loadOrCreateSigner(file: string): Promise<{ signer: Signer; created: boolean }> {
  const found = await exists(file);
  if (found !== undefined) return { signer: Signer.fromPem(found), created: false };
  const signer = Signer.generate();
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, signer.toPem(), { mode: 0o600, flag: 'wx' });
  return { signer, created: true };
}
