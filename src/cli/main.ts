#!/usr/bin/env node
/**
 * The `kubethreads` command. Subcommands are thin: they parse options,
 * call into the library, and print for people (tables, progress on stderr)
 * or for programs (`--json` on stdout).
 */
import { Command, Option } from 'commander';
import { runBench, BENCH_NAMES } from './bench.js';

const program = new Command();
program.name('kubethreads').description('A Kubernetes-style cluster inside one Node.js process, built for studying failure.').version('0.1.0');

program
  .command('bench')
  .description('run benchmarks side by side with their baselines; prints a table, or JSON with --json')
  .addArgument(new Command().createArgument('[name]', `which benchmark: ${BENCH_NAMES.join(', ')}, or all`).default('all'))
  .option('--json', 'print JSON on stdout instead of a table')
  .addOption(new Option('--quick', 'smaller workloads (a smoke run, not a measurement)'))
  .action(async (name: string, options: { json?: boolean; quick?: boolean }) => {
    process.exitCode = await runBench(name, { json: options.json === true, quick: options.quick === true });
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`kubethreads: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
