/**
 * Commands forwarded to a partition's owner over NATS request-reply. The
 * owner of a partition subscribes to `<prefix>.cmd.<stream token>` (queue
 * group `owner`, so during a hand-over at most one node gets each request);
 * any node sends there and gets the owner's outcome back. No owner table is
 * needed: the subscription follows the lease.
 *
 * A request that finds no responder, times out, or reaches a node that no
 * longer owns the partition yields `undefined`: the engine retries with the
 * same idempotency key, so an outcome lost on the way back is returned again
 * by the owner (from its log), not decided twice.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { DirectoryEvent } from '../directory/directory.js';
import type { ForwardedCommand } from '../runtime/engine.js';
import type { Outcome } from '../runtime/partition.js';
import type { SiteEvent } from '../site/events.js';
import { subjectToken } from '../store/nats.js';

type AnyOutcome = Outcome<SiteEvent | DirectoryEvent>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Forwarding {
  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly timeoutMs: number,
  ) {}

  subjectOf(stream: string): string {
    return `${this.prefix}.cmd.${subjectToken(stream)}`;
  }

  /** One attempt; undefined when no owner answered. */
  async request(stream: string, command: ForwardedCommand): Promise<AnyOutcome | undefined> {
    try {
      const reply = await this.nc.request(this.subjectOf(stream), encoder.encode(JSON.stringify(command)), { timeout: this.timeoutMs });
      return JSON.parse(decoder.decode(reply.data)) as AnyOutcome;
    } catch {
      // no responders, a timeout, or the connection is away: nobody decided it for us (or we cannot know; the key covers that)
      return undefined;
    }
  }

  /** Answers forwarded commands for one partition until the returned function is called. */
  serve(stream: string, decide: (command: ForwardedCommand) => Promise<AnyOutcome>): () => void {
    const subscription: Subscription = this.nc.subscribe(this.subjectOf(stream), {
      queue: 'owner',
      callback: (error, msg: Msg) => {
        if (error !== null) return;
        let command: ForwardedCommand;
        try {
          command = JSON.parse(decoder.decode(msg.data)) as ForwardedCommand;
        } catch {
          return; // not ours; the sender times out
        }
        decide(command).then(
          (outcome) => msg.respond(encoder.encode(JSON.stringify(outcome))),
          () => undefined, // an unexpected failure: the sender times out and retries with the same key
        );
      },
    });
    return () => subscription.unsubscribe();
  }
}
