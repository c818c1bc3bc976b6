/** Invariant checks for the consensus core: a broken invariant stops the node loudly. */
export class RaftInvariantError extends Error {
  override readonly name = 'RaftInvariantError';
}

export function invariant(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new RaftInvariantError(`raft invariant violated: ${typeof message === 'function' ? message() : message}`);
  }
}
