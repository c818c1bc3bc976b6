/**
 * History files on the real file system: the I/O edge of `history.ts`.
 * Behaviour code records through a `HistoryRecorder` with an injected sink;
 * only tools (the checker's command line, reports) read and write files here.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { historyToJsonl, parseHistoryJsonl, type LineSink, type Operation } from './history.js';

/** Writes `ops` to `path` as JSON lines of events, replacing the file. */
export function writeHistoryFile(path: string, ops: readonly Operation[]): void {
  writeFileSync(path, historyToJsonl(ops));
}

/** Reads a JSON-lines history file; throws `HistoryParseError` naming the bad line. */
export function readHistoryFile(path: string): Operation[] {
  return parseHistoryJsonl(readFileSync(path, 'utf8'));
}

/** A sink that appends each line to `path` as it comes (for a recorder in a tool, not in an actor). */
export function fileSink(path: string): LineSink {
  return (line) => appendFileSync(path, line + '\n');
}
