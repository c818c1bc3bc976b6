/**
 * The register workload: a client actor that reads, writes and
 * compare-and-swaps a few keys of the store through its own
 * `ReplicatedKvClient`, recording every operation's invocation and completion
 * (its actor clock) for the linearizability checker. Written values are unique
 * (`<process>-<n>`), so a stale or lost value is recognisable.
 */
import { defineBehaviour, unhandled } from '../../actor/behaviour.js';
import { KvError, type KvClient } from '../../kv/client/types.js';
import { KvRequestError } from '../../kv/client/replicated-client.js';
import { workloadKv, type WorkloadKvArgs } from './workload-kv.js';
import { HistoryRecorder, type Operation, type RegisterValue } from '../history.js';

/** The store to talk to (replica actors, or etcd endpoints) and the per-call deadline. */
export type RegisterWorkloadArgs = WorkloadKvArgs;

export interface RegisterRunRequest {
  keys: string[];
  /** Stop invoking new operations at this time (the actor's clock). */
  untilMs: number;
  /** Pause between operations. */
  thinkMs: number;
  /** Only read (the final reads after the run). */
  readOnly?: boolean;
  /** Read every key once, in order, and stop (the final reads after a run). */
  eachKeyOnce?: boolean;
  /** Shares of reads and blind writes; the rest are compare-and-swaps (read, then swap). Defaults READ_SHARE, WRITE_SHARE. */
  readShare?: number;
  writeShare?: number;
}

export type RegisterWorkloadMsg = { type: 'run'; body: RegisterRunRequest };

/** Shares of each operation kind: reads dominate as in a Kubernetes control plane, CAS is how it writes. */
const READ_SHARE = 0.5;
const WRITE_SHARE = 0.25;

export const registerWorkload = defineBehaviour<RegisterWorkloadMsg, RegisterWorkloadArgs>(import.meta.url, 'register-workload', (ctx, args) => {
  const kv = workloadKv(ctx as never, args);
  const history = new HistoryRecorder({ now: () => ctx.now() });
  let written = 0;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(ctx.random() * xs.length)]!;
  const sleep = (ms: number) => kv.sleep(ms);

  async function one(key: string, readOnly: boolean, readShare: number, writeShare: number): Promise<void> {
    let client: KvClient;
    try {
      client = await kv.client();
    } catch (error) {
      // No store to talk to yet (etcd unreachable at connect): nothing was invoked, so nothing is recorded.
      ctx.log.warn({ err: error }, 'the register client could not reach the store');
      return;
    }
    const roll = readOnly ? 0 : ctx.random();
    if (roll < readShare) {
      const id = history.invoke(ctx.name, key, { op: 'read' });
      try {
        const r = await client.range(key);
        history.ok(id, { value: r.kvs[0]?.value ?? null });
      } catch (error) {
        // A read changes nothing: whatever happened to it, it did not happen.
        history.fail(id, describe(error));
      }
      return;
    }
    const value = `${ctx.name}-${written++}`;
    if (roll < readShare + writeShare) {
      const id = history.invoke(ctx.name, key, { op: 'write', value });
      try {
        await client.put(key, value);
        history.ok(id);
      } catch (error) {
        settleFailure(id, error);
      }
      return;
    }
    // CAS from what this client last believes: read first (recorded too), then swap.
    const readId = history.invoke(ctx.name, key, { op: 'read' });
    let expected: RegisterValue;
    try {
      const r = await client.range(key);
      expected = r.kvs[0]?.value ?? null;
      history.ok(readId, { value: expected });
    } catch (error) {
      history.fail(readId, describe(error));
      return;
    }
    const id = history.invoke(ctx.name, key, { op: 'cas', expected, value });
    try {
      const compare =
        expected === null
          ? { key, target: 'version' as const, result: 'equal' as const, value: 0 }
          : { key, target: 'value' as const, result: 'equal' as const, value: String(expected) };
      const r = await client.txn({ compare: [compare], success: [{ type: 'put', key, value }], failure: [] });
      history.ok(id, { swapped: r.succeeded });
    } catch (error) {
      settleFailure(id, error);
    }
  }

  function settleFailure(id: number, error: unknown): void {
    if (error instanceof KvRequestError && error.indeterminate) history.unknown(id, describe(error));
    else history.fail(id, describe(error));
  }

  async function run(request: RegisterRunRequest): Promise<Operation[]> {
    if (request.eachKeyOnce === true) {
      for (const key of request.keys) await one(key, true, 1, 0);
      return history.operations();
    }
    while (ctx.now() < request.untilMs) {
      await one(pick(request.keys), request.readOnly === true, request.readShare ?? READ_SHARE, request.writeShare ?? WRITE_SHARE);
      if (request.thinkMs > 0) await sleep(request.thinkMs * (0.5 + ctx.random()));
    }
    return history.operations();
  }

  return {
    receive(msg) {
      if (kv.handle(msg)) return undefined;
      if (msg.type === 'run') return run(msg.body);
      return unhandled;
    },
    onStop() {
      kv.close();
    },
  };
});

function describe(error: unknown): string {
  if (error instanceof KvError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
