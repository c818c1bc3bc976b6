/**
 * The actor runtime's own series (`kubethreads_actor_*`), one sample per
 * actor labelled `component=<actor name>`, built from the counters every
 * cell keeps anyway: nothing is added to the message path but the counter
 * increments `ActorCell` already makes. Built fresh on each scrape.
 *
 * Counters restart from 0 when an actor restarts (its memory is lost, as a
 * restarted process's is); Prometheus' `rate()` treats that as a reset.
 */
import { Counter, Gauge, Registry, mergeExpositions } from '../metrics/index.js';
import type { ActorStats } from './system.js';

/** The runtime series of these actors, as text exposition. */
export async function runtimeExposition(actors: readonly ActorStats[]): Promise<string> {
  const registry = new Registry();
  const registers = [registry];
  const labelNames = ['component'] as const;
  const counter = (name: string, help: string, value: (a: ActorStats) => number): void => {
    const c = new Counter({ name, help, labelNames, registers });
    for (const a of actors) c.inc({ component: a.name }, value(a));
  };
  const gauge = (name: string, help: string, value: (a: ActorStats) => number): void => {
    const g = new Gauge({ name, help, labelNames, registers });
    for (const a of actors) g.set({ component: a.name }, value(a));
  };
  counter('kubethreads_actor_messages_sent_total', 'Messages (tells and asks) this actor sent, since its last restart.', (a) => a.sent);
  counter('kubethreads_actor_messages_received_total', 'Messages delivered to this actor, since its last restart.', (a) => a.received);
  counter('kubethreads_actor_messages_dropped_total', 'Messages delivered to this actor and not handled (a type it does not handle, or it had stopped), since its last restart.', (a) => a.dropped);
  gauge('kubethreads_actor_mailbox_depth', 'Messages held for this actor and not yet delivered (while it is paused).', (a) => a.mailboxDepth);
  counter('kubethreads_actor_restarts_total', 'Times the supervisor restarted this actor.', (a) => a.restarts);
  counter('kubethreads_actor_ticks_dropped_total', 'Ticks of this actor\'s fixed-rate tickers dropped because it was busy or paused when they fell due, since its last restart.', (a) => a.ticksDropped);
  counter('kubethreads_actor_ask_timeouts_total', 'Asks this actor made that got no reply in time, since its last restart.', (a) => a.askTimeouts);
  gauge('kubethreads_actor_up', 'Whether this actor is running (1) or paused, restarting, stopped or crashed (0).', (a) => (a.state === 'running' ? 1 : 0));
  return registry.metrics();
}

/** The runtime series of `actors` and each behaviour's own text, as one exposition. */
export async function actorsExposition(actors: readonly ActorStats[], behaviourTexts: readonly string[]): Promise<string> {
  return mergeExpositions([await runtimeExposition(actors), ...behaviourTexts]);
}
