/**
 * The ACK hook of a stream source: how a connection tells its peer that what it handed to the intake
 * is in the buffer, so the peer may forget it (Lumberjack's window ACK is one; an HTTP-style or
 * offset ACK would be another). The rules, enforced by the stream listener (`offerAcked`):
 *
 * - a position is acknowledged only after the intake took its batch (`ok` or `pause`);
 * - while the intake asks to pause, acknowledgements are held, so a windowed peer stops at its
 *   window; they are released when the intake resumes, and before the connection closes;
 * - a rejected batch is never acknowledged (what was held before it is released): the connection
 *   closes and the peer sends it again, so nothing is lost.
 */
export interface StreamAck<P> {
  /** The intake took everything up to `position`: acknowledge it now, or hold it while `paused`. */
  taken(position: P, paused: boolean): void;
  /** Acknowledges what is held, in order (the intake resumed, or the connection closes). */
  release(): void;
  /** Whether acknowledgements are held. */
  readonly holding: boolean;
}

/**
 * The usual ACK hook: writes a position at once, or holds it while paused. Positions are grouped
 * (Lumberjack: one group per window): while held, a later position of the same group replaces the
 * held one, since acknowledging it covers the earlier, and a new group keeps the last one of the
 * group before — a peer that pipelines its windows waits for each of them, in order.
 */
export class HeldAcks<P> implements StreamAck<P> {
  readonly #write: (position: P) => void;
  #held: P[] = [];
  #group = 0;
  #heldGroup = -1;

  /** `write`: puts one acknowledgement on the wire. */
  constructor(write: (position: P) => void) {
    this.#write = write;
  }

  get holding(): boolean {
    return this.#held.length > 0;
  }

  /** The positions taken from now on belong to a new group. */
  nextGroup(): void {
    this.#group++;
  }

  taken(position: P, paused: boolean): void {
    if (!paused) {
      this.#write(position);
      return;
    }
    const held = this.#held;
    if (held.length > 0 && this.#heldGroup === this.#group) held[held.length - 1] = position;
    else held.push(position);
    this.#heldGroup = this.#group;
  }

  release(): void {
    const held = this.#held;
    this.#held = [];
    for (const position of held) this.#write(position);
  }

  /** Writes an acknowledgement outside the taken/held order (a keepalive). */
  protected write(position: P): void {
    this.#write(position);
  }
}
