/**
 * Typed clients of the cloud API. Every failure is thrown as a
 * `CloudApiError` with the cloud's code, so a caller has one thing to catch:
 * an ask that times out is `Timeout` (the call may have been applied), an
 * unreachable or restarting cloud actor is `Unavailable`.
 */
import type { ActorContext } from '../../actor/behaviour.js';
import { ActorNotFoundError, ActorUnavailableError, AskTimeoutError } from '../../actor/errors.js';
import type { CloudOp, CloudRequest, CloudRequestOf, CloudResponse } from './api.js';
import { CLOUD_NAME, type CloudMsg } from './protocol.js';
import type { CloudState } from './state.js';
import { CloudApiError, type CloudResult } from './types.js';

export interface CloudClient {
  call<K extends CloudOp>(request: CloudRequestOf<K>): Promise<CloudResponse<K>>;
}

/** A cloud call gives up after this long. Why: above the cloud's worst configured latency, well below a controller's resync. */
export const CLOUD_CALL_TIMEOUT_MS = 10_000;

function unwrap<T>(op: string, result: CloudResult<T>): T {
  if (result.ok) return result.value;
  throw new CloudApiError(result.error.code, `${op}: ${result.error.message}`, result.error.retryable);
}

/** Over actor messages, from inside an actor (the cloud-controller-manager). */
export class ActorCloudClient implements CloudClient {
  constructor(
    private readonly ctx: Pick<ActorContext, 'ask'>,
    private readonly cloud = CLOUD_NAME,
    private readonly timeoutMs = CLOUD_CALL_TIMEOUT_MS,
  ) {}

  async call<K extends CloudOp>(request: CloudRequestOf<K>): Promise<CloudResponse<K>> {
    let result: CloudResult<CloudResponse<K>>;
    try {
      const msg: CloudMsg = { type: 'cloud.call', body: request as CloudRequest };
      result = await this.ctx.ask<CloudResult<CloudResponse<K>>>(this.cloud, msg, { timeoutMs: this.timeoutMs });
    } catch (error) {
      if (error instanceof AskTimeoutError) throw new CloudApiError('Timeout', `${request.op}: no answer from the cloud within ${this.timeoutMs} ms; it may have been applied`);
      if (error instanceof ActorUnavailableError || error instanceof ActorNotFoundError) throw new CloudApiError('Unavailable', `${request.op}: the cloud API cannot be reached (${(error as Error).message})`);
      throw error;
    }
    return unwrap(request.op, result);
  }
}

/** Straight onto a `CloudState`, without actors or latency: for unit tests of controllers on virtual time. */
export class DirectCloudClient implements CloudClient {
  constructor(
    readonly state: CloudState,
    private readonly clock: { now(): number; random(): number },
  ) {}

  async call<K extends CloudOp>(request: CloudRequestOf<K>): Promise<CloudResponse<K>> {
    await Promise.resolve();
    return unwrap(request.op, this.state.callOp(request, this.clock.now(), () => this.clock.random()));
  }
}
