/** Failures of the durable log that a caller must handle; each message says what to do. */
export type StorageErrorCode =
  /** A write or fsync failed; the WAL refuses further writes until it is reopened (the page cache state is unknown). */
  | 'wal-failed'
  /** A record passed its checksum but could not be decoded: a format mismatch or a bug, never truncated away. */
  | 'undecodable'
  /** The WAL's entries do not reach back to its snapshot: segments are missing. */
  | 'log-gap'
  /** The WAL records a snapshot that no valid snapshot file holds. */
  | 'snapshot-missing';

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An invariant of the caller or of this module was broken: stop loudly. */
export function invariant(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new Error(`storage invariant violated: ${typeof message === 'string' ? message : message()}`);
}
