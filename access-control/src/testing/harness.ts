/**
 * A booking engine and access control over one event store, with a clock the
 * test moves: the site of `fixtures.ts` as a catalogue (a building with an
 * entrance, a hall with a section, a sauna with its own door), and helpers to
 * book, cancel and move reservations the way channels do.
 *
 * Used by the runtime tests here and by the gateway's MQTT and HTTP tests.
 */
import { Engine, catalogueFileSchema, loadCatalogue, openStore, type CatalogueFile, type EventStore } from '@vuoro/engine';
import { Signer } from '../crypto/jws.js';
import { AccessControl, type AccessControlOptions } from '../runtime/access-control.js';
import { silentLogger } from '../runtime/logger.js';
import type { DoorCodeDelivery, DoorCodeMailer, DoorCodeMessage } from '../runtime/mailer.js';
import { DOORS, PEPPER, SITE, SPACES } from './fixtures.js';

const allDay = [{ from: '00:00', to: '24:00' }];
const rules = (accessType: 'access_code' | 'physical_key') => ({
  openingHours: { weekly: { mon: allDay, tue: allDay, wed: allDay, thu: allDay, fri: allDay, sat: allDay, sun: allDay }, holidays: 'open' as const },
  startIntervalMinutes: 15,
  minDurationMinutes: 15,
  maxDurationMinutes: 600,
  bookingWindow: { minDaysAhead: 0, maxDaysAhead: 400 },
  cancellationDeadlineHours: 0,
  accessType,
});

export const UNITS = { hallA: 'unt_hall_a', sauna: 'unt_sauna', keyed: 'unt_keyed' } as const;
export const CUSTOMER = { customerId: 'cus_club', customerGroupId: 'grp_free', freeOfCharge: true } as const;

export const testCatalogue: CatalogueFile = catalogueFileSchema.parse({
  customerGroups: [{ customerGroupId: 'grp_free', name: 'Free', freeOfCharge: true }],
  customers: [{ customerId: 'cus_club', name: 'Club', customerGroupId: 'grp_free' }],
  sites: [
    {
      siteId: SITE,
      name: 'Test sports centre',
      spaces: [
        { spaceId: SPACES.building, name: 'Building' },
        { spaceId: SPACES.hall, parentId: SPACES.building, name: 'Hall' },
        { spaceId: SPACES.hallA, parentId: SPACES.hall, name: 'Hall section A' },
        { spaceId: SPACES.sauna, name: 'Sauna' },
        { spaceId: 'spc_storage', parentId: SPACES.building, name: 'Storage' },
      ],
      units: [
        { unitId: UNITS.hallA, name: 'Hall A', unitType: 'sports_hall', spaceIds: [SPACES.hallA], rules: rules('access_code') },
        { unitId: UNITS.sauna, name: 'Sauna', unitType: 'sauna', spaceIds: [SPACES.sauna], rules: rules('access_code') },
        { unitId: UNITS.keyed, name: 'Storage', unitType: 'other', spaceIds: ['spc_storage'], rules: rules('physical_key') },
      ],
    },
  ],
});

/** Collects door codes as the outbox would receive them. */
export class MailboxMailer implements DoorCodeMailer {
  readonly messages: DoorCodeMessage[] = [];
  failNext = 0;
  async send(message: DoorCodeMessage): Promise<DoorCodeDelivery> {
    if (this.failNext > 0) {
      this.failNext--;
      return { delivered: false, reason: 'outbox unavailable (test)' };
    }
    this.messages.push(message);
    return { delivered: true, messageId: `msg_${this.messages.length}` };
  }
  codeFor(credentialId: string): string | undefined {
    return [...this.messages].reverse().find((m) => m.credentialId === credentialId)?.code;
  }
}

export interface Harness {
  store: EventStore;
  engine: Engine;
  access: AccessControl;
  mailer: MailboxMailer;
  clock: { now: number };
  signer: Signer;
  book(reservationId: string, unitId: string, start: number, end: number): Promise<void>;
  cancel(reservationId: string): Promise<void>;
  move(reservationId: string, start: number, end: number): Promise<void>;
  /** Registers the fixture's doors (entrance on the building, hall door, sauna door). */
  registerDoors(): Promise<void>;
  /** Waits until access control has acted on everything committed so far. */
  settle(): Promise<void>;
  reopenAccess(options?: Partial<AccessControlOptions>): Promise<AccessControl>;
  close(): Promise<void>;
}

const staff = { kind: 'staff' as const, staffId: 'stf_desk' };

export interface HarnessOptions extends Partial<AccessControlOptions> {
  now: number;
  store?: EventStore;
  /** How access control is opened (default `AccessControl.open`); the MQTT tests open it through the gateway. */
  openAccess?: (options: AccessControlOptions) => Promise<AccessControl>;
}

export async function openHarness(options: HarnessOptions): Promise<Harness> {
  const clock = { now: options.now };
  const store = options.store ?? (await openStore({ kind: 'memory' }));
  const engine = await Engine.open({ store, clock: () => clock.now });
  await loadCatalogue(engine, testCatalogue);
  const signer = options.signer ?? Signer.generate();
  const mailer = new MailboxMailer();
  const { openAccess = (o: AccessControlOptions) => AccessControl.open(o), now: _now, store: _store, ...overrides } = options;
  const accessOptions = (): AccessControlOptions => ({
    store,
    pepper: PEPPER,
    signer,
    clock: () => clock.now,
    log: silentLogger,
    kdf: { iterations: 1000 },
    tickMs: 0,
    logFlushMs: 1,
    ...overrides,
  });
  let access = await openAccess(accessOptions());
  access.useMailer(mailer);
  const run = async (command: Parameters<Engine['execute']>[0]): Promise<void> => {
    const outcome = await engine.execute(command);
    if (!outcome.ok) throw new Error(`${command.type}: ${outcome.error.code} ${outcome.error.message}`);
  };
  const h: Harness = {
    store,
    engine,
    get access() {
      return access;
    },
    mailer,
    clock,
    signer,
    book: (reservationId, unitId, start, end) =>
      run({ type: 'RequestReservation', data: { reservationId, unitId, customer: { ...CUSTOMER }, start, end, kind: 'behalf', confirm: true }, meta: { actor: staff } }),
    cancel: (reservationId) => run({ type: 'CancelReservation', data: { reservationId, reason: 'plans changed' }, meta: { actor: staff } }),
    move: (reservationId, start, end) => run({ type: 'ModifyReservation', data: { reservationId, start, end }, meta: { actor: staff } }),
    async registerDoors() {
      for (const [doorId, spaceId, name] of [
        [DOORS.entrance, SPACES.building, 'Main entrance'],
        [DOORS.hall, SPACES.hall, 'Hall door'],
        [DOORS.sauna, SPACES.sauna, 'Sauna door'],
      ] as const) {
        const r = await access.registerDoor(SITE, { doorId, spaceId, name }, 'staff:stf_admin');
        if (!r.ok) throw new Error(r.error.message);
      }
    },
    async settle() {
      const last = (await store.readAll({ after: 0 })).at(-1)?.position ?? 0;
      await access.sync?.caughtUp(last);
      await access.settled();
    },
    async reopenAccess(more = {}) {
      await access.close();
      access = await openAccess({ ...accessOptions(), ...more });
      return access;
    },
    async close() {
      await access.close();
      await engine.close();
      await store.close();
    },
  };
  return h;
}
