/**
 * A catch-up subscription for stores that can read their global feed in
 * pages (memory, SQLite): read a page after the checkpoint, hand each event to
 * the handler one at a time, and when caught up sleep until woken (an
 * in-process append) or until the poll interval passes (appends by another
 * process, which nothing in this process hears about).
 */
import { StoreUnavailableError } from './port.js';
import type { RecordedEvent, SubscribeOptions, Subscription } from './port.js';

export interface CatchUpSource {
  /** The next page of the feed: events with position > after, in order. */
  readPage(after: number): Promise<readonly RecordedEvent[]> | readonly RecordedEvent[];
  /** Registers a wake-up callback for in-process appends; returns the unregister function. */
  onAppend(wake: () => void): () => void;
  /** Milliseconds between polls when nothing wakes the subscription; undefined = never poll. */
  pollIntervalMs?: number;
}

export class CatchUpSubscription implements Subscription {
  readonly done: Promise<void>;
  #failure: unknown;
  #closed = false;
  #signalled = false;
  #wakeWaiter: (() => void) | undefined;
  #unregister: () => void;

  constructor(
    private readonly source: CatchUpSource,
    options: SubscribeOptions,
  ) {
    // Registered before the first read, so an append that lands between a
    // read that came back empty and the wait still wakes us (#signalled).
    this.#unregister = source.onAppend(() => this.#wake());
    this.done = this.#run(options).finally(() => this.#unregister());
  }

  get failure(): unknown {
    return this.#failure;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wake();
    await this.done;
  }

  #wake(): void {
    this.#signalled = true;
    const waiter = this.#wakeWaiter;
    this.#wakeWaiter = undefined;
    waiter?.();
  }

  async #run({ after, handler }: SubscribeOptions): Promise<void> {
    let checkpoint = after;
    while (!this.#closed) {
      this.#signalled = false;
      let page: readonly RecordedEvent[];
      try {
        page = await this.source.readPage(checkpoint);
      } catch (error) {
        // A busy or briefly unreachable store is worth another try after the
        // poll interval; anything else (closed store, corrupt row) is final.
        if (error instanceof StoreUnavailableError && this.source.pollIntervalMs !== undefined) {
          await this.#sleep();
          continue;
        }
        this.#failure = error;
        return;
      }
      for (const event of page) {
        if (this.#closed) return;
        try {
          await handler(event);
        } catch (error) {
          this.#failure = error;
          return;
        }
        checkpoint = event.position;
      }
      if (page.length === 0) await this.#sleep();
    }
  }

  #sleep(): Promise<void> {
    if (this.#signalled || this.#closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer =
        this.source.pollIntervalMs === undefined
          ? undefined
          : setTimeout(() => this.#wake(), this.source.pollIntervalMs);
      this.#wakeWaiter = () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
    });
  }
}
