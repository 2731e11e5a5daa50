/** The example flows load as flows: unique ids, wires and config references that exist, mappings the nodes accept. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cabinet, door } from './cjs.js';

const dir = join(import.meta.dirname, '..', 'examples');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('example flows', () => {
  it('has the three promised examples', () => {
    expect(files.sort()).toEqual(['heating-before-booking.json', 'keypad-lock-door.json', 'zigbee2mqtt-presence-to-occupancy.json']);
  });

  it.each(files)('%s is a consistent flow', (file) => {
    const flow = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { id: string; type: string; wires?: string[][]; vuoro?: string; broker?: string; [k: string]: unknown }[];
    const ids = new Set(flow.map((n) => n.id));
    expect(ids.size).toBe(flow.length);
    for (const n of flow) {
      for (const port of n.wires ?? []) for (const target of port) expect(ids.has(target)).toBe(true);
      if (n.type.startsWith('vuoro-') && n.type !== 'vuoro-config') expect(flow.find((c) => c.id === n.vuoro)?.type).toBe('vuoro-config');
      if (n.type === 'vuoro-door') {
        expect(door.doorMapping({ pin: n.pinProperty as string, requestId: n.requestIdProperty as string, commandMap: n.commandMap })).toMatchObject({ ok: true });
      }
      if (n.type === 'vuoro-key-cabinet') expect(cabinet.cabinetMapping({ keyMap: n.keyMap })).toMatchObject({ ok: true });
      if (n.type.startsWith('mqtt ')) expect(flow.find((c) => c.id === n.broker)?.type).toBe('mqtt-broker');
    }
  });
});
