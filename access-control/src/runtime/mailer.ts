/**
 * How a door code reaches the customer: the command API's outbox (message
 * type `access.door_code`, to the channel that made the reservation). Access
 * control only knows this port; the gateway plugs in the outbox adapter
 * (gateways/src/access/door-codes.ts).
 *
 * The message carries the code in clear: it is the one place it must be.
 * Until `send` answers `delivered`, the credential's code counts as not
 * handed over; on restart such codes are replaced by a new one (the old one
 * was never stored) and sent again.
 */
import type { Holder, WindowDto } from '../events.js';

export interface DoorCodeMessage {
  siteId: string;
  credentialId: string;
  /** 1 for the first code, +1 for each replacement: with credentialId, a stable de-duplication key. */
  codeVersion: number;
  holder: Holder;
  customerId: string;
  /** The holder's reservations (all occurrences of a series). */
  reservationIds: string[];
  code: string;
  windows: WindowDto[];
  doors: { doorId: string; name: string }[];
  reason: 'issued' | 'replaced';
  /** The feed position that caused it, so an adapter can wait until its own view of the feed has caught up. */
  sourcePosition?: number;
}

export type DoorCodeDelivery = { delivered: true; messageId: string } | { delivered: false; reason: string };

export interface DoorCodeMailer {
  send(message: DoorCodeMessage): Promise<DoorCodeDelivery>;
}
