/** Errors of the actor runtime. Each says what happened and what to do. */

export class ActorError extends Error {
  override name = 'ActorError';
}

/** An ask got no reply within its timeout (the target is slow, partitioned or paused). */
export class AskTimeoutError extends ActorError {
  override name = 'AskTimeoutError';
  constructor(
    readonly target: string,
    readonly type: string,
    readonly timeoutMs: number,
  ) {
    super(`ask ${type} → ${target} got no reply within ${timeoutMs} ms; the actor may be partitioned, paused or overloaded (raise timeoutMs or check faults)`);
  }
}

/** The target of an ask crashed, was killed or stopped before replying. */
export class ActorUnavailableError extends ActorError {
  override name = 'ActorUnavailableError';
  constructor(
    readonly target: string,
    readonly reason: string,
  ) {
    super(`actor ${target} is unavailable (${reason}); retry after it restarts, or watch it to learn when it stops`);
  }
}

/** No actor of that name exists in the system. */
export class ActorNotFoundError extends ActorError {
  override name = 'ActorNotFoundError';
  constructor(readonly target: string) {
    super(`no actor named ${target}; spawn it first or check the name`);
  }
}

/** The target does not handle that message type. */
export class UnhandledMessageError extends ActorError {
  override name = 'UnhandledMessageError';
  constructor(
    readonly target: string,
    readonly type: string,
  ) {
    super(`actor ${target} does not handle message type ${JSON.stringify(type)}; check the protocol of its behaviour`);
  }
}

/** An error thrown by the target's handler for an ask, carried back to the asker by name and message. */
export class RemoteError extends ActorError {
  override name = 'RemoteError';
  constructor(
    readonly remoteName: string,
    message: string,
  ) {
    super(message);
  }
}

/** Serialized form of an error travelling in a reply. */
export interface ErrorValue {
  name: string;
  message: string;
  target?: string;
  type?: string;
  reason?: string;
}

export function toErrorValue(error: unknown): ErrorValue {
  if (error instanceof AskTimeoutError) return { name: error.name, message: error.message, target: error.target, type: error.type };
  if (error instanceof ActorUnavailableError) return { name: error.name, message: error.message, target: error.target, reason: error.reason };
  if (error instanceof UnhandledMessageError) return { name: error.name, message: error.message, target: error.target, type: error.type };
  if (error instanceof ActorNotFoundError) return { name: error.name, message: error.message, target: error.target };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

export function fromErrorValue(value: ErrorValue): Error {
  switch (value.name) {
    case 'ActorUnavailableError':
      return new ActorUnavailableError(value.target ?? '?', value.reason ?? value.message);
    case 'ActorNotFoundError':
      return new ActorNotFoundError(value.target ?? '?');
    case 'UnhandledMessageError':
      return new UnhandledMessageError(value.target ?? '?', value.type ?? '?');
    default:
      return new RemoteError(value.name, value.message);
  }
}
