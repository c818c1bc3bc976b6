/**
 * Link faults as a pure table: which messages from → to are dropped, delayed
 * or duplicated. Both runtimes consult the same table with their own seeded
 * random source, so a fault schedule means the same thing in either.
 */

/** A set of actor names; `'*'` matches every actor. */
export type ActorSet = readonly string[] | '*';

export interface LinkFault {
  from: ActorSet;
  to: ActorSet;
  /** Probability in [0, 1] that a message is dropped. 1 = partition. */
  drop?: number;
  /** Added delay in ms, and a uniform jitter of ± jitterMs around it. */
  delayMs?: number;
  jitterMs?: number;
  /**
   * Probability in [0, 1] that a message is delivered twice. Tells and replies
   * only: an ask is a request over a connection, which TCP (and HTTP/2, gRPC
   * above it) delivers once however the packets went, so no system this one
   * models ever sees a request twice that its client sent once; a server that
   * did would apply a write twice (a compare-and-swap's duplicate answering
   * "not swapped" for a swap that happened). Retries are the client's own,
   * with ids of their own.
   */
  duplicate?: number;
}

export interface LinkRule extends LinkFault {
  id: number;
}

/** What to do with one message: deliver `copies` times (0 = dropped), each after its delay. */
export interface LinkVerdict {
  delaysMs: number[];
}

const DELIVER_NOW: LinkVerdict = Object.freeze({ delaysMs: Object.freeze([0]) as number[] });

function matches(set: ActorSet, name: string): boolean {
  return set === '*' || set.includes(name);
}

function checkProbability(label: string, p: number | undefined): void {
  if (p !== undefined && !(p >= 0 && p <= 1)) throw new Error(`link fault ${label} must be a probability in [0, 1], got ${p}`);
}

export class LinkFaultTable {
  private rules: LinkRule[] = [];
  private nextId = 1;

  get empty(): boolean {
    return this.rules.length === 0;
  }

  add(fault: LinkFault): number {
    checkProbability('drop', fault.drop);
    checkProbability('duplicate', fault.duplicate);
    if ((fault.delayMs ?? 0) < 0 || (fault.jitterMs ?? 0) < 0) throw new Error('link fault delayMs and jitterMs must be >= 0');
    const id = this.nextId++;
    this.rules.push({ ...fault, id });
    return id;
  }

  /** Cut both directions between two sets of actors. Returns the rule ids (heal them with `remove`). */
  partition(a: readonly string[], b: readonly string[]): number[] {
    return [this.add({ from: a, to: b, drop: 1 }), this.add({ from: b, to: a, drop: 1 })];
  }

  remove(id: number): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  clear(): void {
    this.rules = [];
  }

  list(): LinkRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  replaceAll(rules: LinkRule[]): void {
    this.rules = rules.map((r) => ({ ...r }));
    this.nextId = Math.max(this.nextId, ...rules.map((r) => r.id + 1));
  }

  /**
   * The fate of one message. Draws from `random` only when a rule matches, so fault-free runs consume no randomness here.
   * `isAsk`: the message is a request awaiting a reply, never duplicated (see `LinkFault.duplicate`).
   */
  decide(from: string, to: string, random: () => number, isAsk = false): LinkVerdict {
    if (this.rules.length === 0) return DELIVER_NOW;
    let drop = 0;
    let duplicate = 0;
    let delayMs = 0;
    let jitterMs = 0;
    let matched = false;
    for (const rule of this.rules) {
      if (!matches(rule.from, from) || !matches(rule.to, to)) continue;
      matched = true;
      // Independent faults compose: survive every drop, add up delays.
      drop = 1 - (1 - drop) * (1 - (rule.drop ?? 0));
      duplicate = Math.max(duplicate, rule.duplicate ?? 0);
      delayMs += rule.delayMs ?? 0;
      jitterMs += rule.jitterMs ?? 0;
    }
    if (!matched) return DELIVER_NOW;
    if (drop >= 1 || (drop > 0 && random() < drop)) return { delaysMs: [] };
    const copies = duplicate > 0 && !isAsk && random() < duplicate ? 2 : 1;
    const delaysMs: number[] = [];
    for (let i = 0; i < copies; i++) {
      const jitter = jitterMs > 0 ? (random() * 2 - 1) * jitterMs : 0;
      delaysMs.push(Math.max(0, delayMs + jitter));
    }
    return { delaysMs };
  }
}
