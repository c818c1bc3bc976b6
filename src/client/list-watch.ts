/**
 * What an informer needs from the API server, and nothing more: a list with
 * its resourceVersion, and a watch from a resourceVersion. The API server's
 * actor protocol, its HTTP face, and the in-memory fake all fit behind it.
 */
import type { KubeObject } from '../api/types/index.js';

export interface ListOptions {
  /** '' or undefined: a consistent (quorum) read, as client-go's first list. */
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export type WatchEventKind = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface ClientWatchEvent<T> {
  type: WatchEventKind;
  /** For BOOKMARK only `metadata.resourceVersion` is meaningful. */
  object: T;
}

/** Why a watch ended with an error; `code` 410 (reason Gone / Expired) means the resourceVersion is compacted: relist. */
export interface WatchFailure {
  code: number;
  reason?: string;
  message?: string;
}

export interface WatchHandlers<T> {
  onEvent(event: ClientWatchEvent<T>): void;
  /** The watch ended on an error (no more events follow). */
  onError(failure: WatchFailure): void;
  /** The server closed the watch normally (timeout); re-watch from the last resourceVersion seen. */
  onClose?(): void;
}

export interface WatchHandle {
  stop(): void;
}

export interface ListWatcher<T> {
  list(options: ListOptions): Promise<ListResult<T>>;
  watch(resourceVersion: string, handlers: WatchHandlers<T>): WatchHandle;
}

/** An error from a client call, shaped like a Kubernetes Status so callers switch on `reason`. */
export class ClientError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string) {
    super(message);
    this.name = 'ClientError';
  }
}

export function isConflict(error: unknown): boolean {
  return error instanceof ClientError && error.code === 409;
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ClientError && error.code === 404;
}

export function isGone(failure: WatchFailure | unknown): boolean {
  return typeof failure === 'object' && failure !== null && (failure as WatchFailure).code === 410;
}

export type { KubeObject };
