/**
 * `node dist/src/chaos/linearizability/check-cli.js FILE` — checks a history
 * file and prints the verdict. Exit code 0: linearizable; 1: not linearizable;
 * 2: unknown (a search ran out of budget); 3: bad input or usage.
 * `runCheckCli` is the same, callable, for `kubethreads check FILE`.
 */
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { readHistoryFile } from '../history-file.js';
import type { RegisterValue } from '../history.js';
import { checkHistory } from './check.js';
import { formatCheckResult } from './report.js';

/**
 * Histories with at least this many operations (and more than one key) are
 * checked on worker threads unless told otherwise. Why: below it, starting the
 * pool costs more than the check itself.
 */
export const parallelOperationsMin = 20_000;

export const usage = `usage: check FILE [--json] [--initial JSON] [--parallel | --sequential] [--steps N]
  FILE           a history as JSON lines (see docs/linearizability.md)
  --json         print the structured result as JSON instead of text
  --initial JSON the registers' value before the history (default null: absent)
  --parallel     check keys on worker threads (default for ${parallelOperationsMin}+ operations)
  --sequential   check keys in this thread
  --steps N      search steps per key before answering unknown`;

export interface CliOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

class UsageError extends Error {}

interface CliArguments {
  file: string;
  json: boolean;
  initialValue: RegisterValue;
  parallel: boolean | undefined;
  searchStepsMax: number | undefined;
}

function parseArguments(argv: readonly string[]): CliArguments {
  const parsed: CliArguments = { file: '', json: false, initialValue: null, parallel: undefined, searchStepsMax: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const valueOf = (): string => {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a value`);
      return value;
    };
    switch (arg) {
      case '--json':
        parsed.json = true;
        break;
      case '--parallel':
        parsed.parallel = true;
        break;
      case '--sequential':
        parsed.parallel = false;
        break;
      case '--initial': {
        const text = valueOf();
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          throw new UsageError(`--initial ${text} is not JSON; quote strings: --initial '"a"'`);
        }
        if (value !== null && typeof value !== 'string' && typeof value !== 'number') {
          throw new UsageError(`--initial must be a JSON string, number or null`);
        }
        parsed.initialValue = value;
        break;
      }
      case '--steps': {
        const steps = Number(valueOf());
        if (!Number.isSafeInteger(steps) || steps <= 0) throw new UsageError('--steps must be a positive integer');
        parsed.searchStepsMax = steps;
        break;
      }
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
        if (parsed.file !== '') throw new UsageError('give exactly one history file');
        parsed.file = arg;
    }
  }
  if (parsed.file === '') throw new UsageError('give a history file');
  return parsed;
}

export async function runCheckCli(argv: readonly string[], output: CliOutput): Promise<number> {
  let args: CliArguments;
  try {
    args = parseArguments(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    output.stderr(`${error.message}\n${usage}\n`);
    return 3;
  }
  let ops;
  try {
    ops = readHistoryFile(args.file);
  } catch (error) {
    output.stderr(`cannot read ${args.file}: ${(error as Error).message}\n`);
    return 3;
  }
  const keys = new Set(ops.map((op) => op.key)).size;
  const parallel = args.parallel ?? (ops.length >= parallelOperationsMin && keys > 1);
  const startMs = performance.now();
  const result = await checkHistory(ops, { initialValue: args.initialValue, parallel, searchStepsMax: args.searchStepsMax });
  const elapsedMs = performance.now() - startMs;
  if (args.json) {
    output.stdout(JSON.stringify(result) + '\n');
  } else {
    output.stdout(formatCheckResult(result));
    output.stdout(`checked in ${elapsedMs.toFixed(0)} ms (${parallel ? 'worker threads' : 'one thread'})\n`);
  }
  return result.verdict === 'linearizable' ? 0 : result.verdict === 'not-linearizable' ? 1 : 2;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await runCheckCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  process.exitCode = code;
}
