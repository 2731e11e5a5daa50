/**
 * Loads a catalogue file (e.g. `infra/demo-catalogue.json`) through the
 * engine's own commands, so a loaded catalogue is in the log like any staff
 * change. Every command carries an idempotency key derived from the file's
 * ids, so loading the same file again changes nothing.
 */
import { readFile } from 'node:fs/promises';
import type { Engine } from '../runtime/engine.js';
import type { Actor } from '../site/commands.js';
import { catalogueFileSchema, type CatalogueFile, type Space } from './schemas.js';

export interface LoadReport {
  applied: number;
  unchanged: number;
  refused: { command: string; code: string; message: string }[];
}

const LOADER: Actor = { kind: 'system', name: 'catalogue-loader' };

/** Parents before children, whatever order the file lists them in. */
function parentsFirst(spaces: readonly Space[]): Space[] {
  const byId = new Map(spaces.map((s) => [s.spaceId, s]));
  const out: Space[] = [];
  const done = new Set<string>();
  const visit = (s: Space, depth: number): void => {
    if (done.has(s.spaceId) || depth > spaces.length) return;
    const parent = s.parentId === undefined ? undefined : byId.get(s.parentId);
    if (parent) visit(parent, depth + 1);
    done.add(s.spaceId);
    out.push(s);
  };
  for (const s of spaces) visit(s, 0);
  return out;
}

export async function loadCatalogue(engine: Engine, file: CatalogueFile): Promise<LoadReport> {
  const report: LoadReport = { applied: 0, unchanged: 0, refused: [] };
  const run = async (key: string, command: Parameters<Engine['execute']>[0], siteId?: string): Promise<void> => {
    const outcome = await engine.execute(command, { idempotencyKey: `catalogue:${key}`, ...(siteId === undefined ? {} : { siteId }) });
    if (outcome.ok) {
      if (outcome.duplicate) report.unchanged++;
      else report.applied++;
    } else if (outcome.error.code === 'ALREADY_EXISTS') {
      report.unchanged++;
    } else {
      report.refused.push({ command: key, code: outcome.error.code, message: outcome.error.message });
    }
  };
  const meta = { actor: LOADER };
  for (const group of file.customerGroups) {
    await run(`group:${group.customerGroupId}`, { type: 'DefineCustomerGroup', data: { group }, meta });
  }
  for (const customer of file.customers) {
    await run(`customer:${customer.customerId}`, { type: 'RegisterCustomer', data: { customer }, meta });
  }
  for (const { spaces, resources, units, ...site } of file.sites) {
    await run(`site:${site.siteId}`, { type: 'DefineSite', data: { site }, meta });
    // Commands of one site go to one partition: submit them together so they share group commits.
    await Promise.all(parentsFirst(spaces).map((space) => run(`space:${space.spaceId}`, { type: 'DefineSpace', data: { space }, meta }, site.siteId)));
    await Promise.all(resources.map((resource) => run(`resource:${resource.resourceId}`, { type: 'DefineResource', data: { resource }, meta }, site.siteId)));
    await Promise.all(units.map((unit) => run(`unit:${unit.unitId}`, { type: 'DefineUnit', data: { unit }, meta }, site.siteId)));
  }
  return report;
}

export async function readCatalogueFile(path: string): Promise<CatalogueFile> {
  const raw: unknown = JSON.parse(await readFile(path, 'utf8'));
  return catalogueFileSchema.parse(raw);
}
