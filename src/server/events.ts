import { randomBytes } from 'node:crypto';

import type { Cluster } from '../store/cluster.ts';
import type { SecretChange, Secrets } from '../store/secrets.ts';

/** How many recent changes the hub keeps, so that a client can resume after a reconnect. */
export const CHANGE_HISTORY_SIZE = 1024;

/** A change with its event id, `<boot id>.<sequence>`. */
export interface ChangeEvent extends SecretChange {
  id: string;
}

/** An event for subscribers: a change, or a reset when changes may have been missed. */
export type HubEvent = ChangeEvent | { kind: 'reset'; id: string };

/** What a client resuming from an event id gets: the changes it missed, or a reset. */
export type Replay = { kind: 'events'; events: ChangeEvent[] } | { kind: 'reset' };

/**
 * Numbers the secrets' changes and keeps the most recent ones in a ring buffer. Event
 * ids start with a random id of this server process, so that an id from before a restart
 * (or from another replica) is recognised as unknown and the client is told to reset.
 * With a cluster, the changes written through the other server processes are numbered
 * here too, and a gap in those turns into a reset for every subscriber.
 */
export class ChangeHub {
  readonly bootId = randomBytes(6).toString('hex');
  readonly #history: (ChangeEvent | undefined)[];
  readonly #subscribers = new Set<(event: HubEvent) => void>();
  #sequence = 0;
  // Changes up to this sequence may be incomplete, so no client resumes from before it.
  #gapAt = 0;

  constructor(secrets: Secrets, cluster?: Cluster, size: number = CHANGE_HISTORY_SIZE) {
    this.#history = new Array(size);
    secrets.onChange((change) => this.#publish(change));
    cluster?.subscribe((message) => {
      if (message.kind === 'secret') this.#publish(message.change);
      if (message.kind === 'gap') this.#reset();
    });
  }

  /** The id of the newest change, which a client that starts now resumes from. */
  get lastId(): string {
    return `${this.bootId}.${this.#sequence}`;
  }

  /** Calls `listener` for each change from now on; returns the function that stops it. */
  subscribe(listener: (event: HubEvent) => void): () => void {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }

  /** Returns the changes after `lastEventId`, or a reset when they are no longer known. */
  replaySince(lastEventId: string): Replay {
    const [boot, text] = lastEventId.split('.');
    const after = Number(text);
    const known = Number.isSafeInteger(after) && after >= this.#gapAt && after <= this.#sequence;
    if (boot !== this.bootId || !known) {
      return { kind: 'reset' };
    }
    if (this.#sequence - after > this.#history.length) return { kind: 'reset' };

    const events: ChangeEvent[] = [];
    for (let sequence = after + 1; sequence <= this.#sequence; sequence++) {
      const event = this.#history[sequence % this.#history.length];
      if (event !== undefined) events.push(event);
    }
    return { kind: 'events', events };
  }

  #publish(change: SecretChange): void {
    this.#sequence++;
    const event = { ...change, id: `${this.bootId}.${this.#sequence}` };
    this.#history[this.#sequence % this.#history.length] = event;
    for (const subscriber of this.#subscribers) subscriber(event);
  }

  #reset(): void {
    this.#sequence++;
    this.#gapAt = this.#sequence;
    const event = { kind: 'reset' as const, id: this.lastId };
    for (const subscriber of this.#subscribers) subscriber(event);
  }
}
