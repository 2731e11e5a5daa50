/**
 * Door codes to customers through the command API's outbox: a message of the
 * reserved type `access.door_code`, to the channel that made the reservation
 * (the outbox knows it from the feed), signed and retried like every other
 * outbox message. The de-duplication key is the credential and its code
 * version, so sending the same code twice queues it once.
 *
 * The outbox has no public way to add a message of its own yet, so this
 * writes the row into its table and wakes it; the statement mirrors
 * `Outbox.consume`'s insert.
 */
import { randomUUID } from 'node:crypto';
import type { DoorCodeDelivery, DoorCodeMailer, DoorCodeMessage } from '@vuoro/access-control';
import { formatInstant } from '@vuoro/engine';
import type { Outbox } from '../outbox/outbox.js';
import type { Db } from '../storage/db.js';

export function outboxDoorCodes(db: Db, outbox: Outbox, clock: () => number = Date.now): DoorCodeMailer {
  const insert = db.prepare(
    `INSERT OR IGNORE INTO outbox (message_id, channel_id, type, reservation_id, dedupe_key, payload, status, deliver_at, created_at)
     VALUES (?, ?, 'access.door_code', ?, ?, ?, 'pending', ?, ?)`,
  );
  return {
    async send(m: DoorCodeMessage): Promise<DoorCodeDelivery> {
      if (m.sourcePosition !== undefined) await outbox.caughtUp(m.sourcePosition);
      const reservationId = m.reservationIds[0];
      if (reservationId === undefined) return { delivered: false, reason: 'no reservation to address the code to' };
      const channelId = outbox.ownerOf(reservationId);
      if (channelId === undefined) return { delivered: false, reason: `the outbox does not know reservation ${reservationId} yet` };
      if (channelId === null) return { delivered: false, reason: `reservation ${reservationId} came through no channel that takes messages` };
      const now = clock();
      const messageId = `msg_${randomUUID().replaceAll('-', '')}`;
      const payload = {
        messageId,
        type: 'access.door_code',
        channelId,
        occurredAt: formatInstant(now),
        reservationId,
        reservationIds: m.reservationIds,
        ...(m.holder.type === 'series' ? { seriesId: m.holder.seriesId } : {}),
        siteId: m.siteId,
        customerId: m.customerId,
        credentialId: m.credentialId,
        code: m.code,
        codeVersion: m.codeVersion,
        replacesEarlierCode: m.reason === 'replaced',
        validity: m.windows.map((w) => ({ from: formatInstant(Date.parse(w.start)), until: formatInstant(Date.parse(w.end)) })),
        doors: m.doors,
      };
      const dedupe = `access.door_code:${m.credentialId}:${m.codeVersion}`;
      const r = insert.run(messageId, channelId, reservationId, dedupe, JSON.stringify(payload), now, now);
      if (r.changes === 0) {
        const existing = db.prepare('SELECT message_id FROM outbox WHERE dedupe_key = ?').get(dedupe) as { message_id: string } | undefined;
        return { delivered: true, messageId: existing?.message_id ?? messageId };
      }
      outbox.wake();
      return { delivered: true, messageId };
    },
  };
}
