#!/usr/bin/env node
/**
 * The `kubethreads` command. Subcommands are thin: they parse options,
 * call into the library, and print for people (tables, progress on stderr)
 * or for programs (`--json` on stdout).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { runBench, BENCH_NAMES } from './bench.js';
import { registerChaosCommand } from './chaos.js';
import { runEtcdCommand } from './etcd.js';
import { MEMBER_VERBS, formatControlReply, requestEtcdControl, type MemberVerb } from './etcd-control.js';
import { runUp } from './up.js';
import { runNodes } from './nodes.js';
import { parseEtcdEndpoints } from '../kv/etcd/endpoints.js';
import { parseAutoCompactionRetention, type AutoCompactionConfig, type AutoCompactionMode } from '../kv/replica/auto-compaction.js';

const program = new Command();
program.name('kubethreads').description('A Kubernetes-style cluster inside one Node.js process, built for studying failure.').version('0.1.0');

program
  .command('bench')
  .description('run benchmarks side by side with their baselines; prints a table, or JSON with --json')
  .addArgument(new Command().createArgument('[name]', `which benchmark: ${BENCH_NAMES.join(', ')}, or all`).default('all'))
  .option('--json', 'print JSON on stdout instead of a table')
  .addOption(new Option('--quick', 'smaller workloads (a smoke run, not a measurement)'))
  .option('--nodes <n>', 'density: worker nodes (default 1000)', (v) => positiveInt('--nodes', v))
  .option('--pods <n>', 'density: pods in all, split over the Deployments (default 20 x 1000)', (v) => positiveInt('--pods', v))
  .option('--deployments <n>', 'density: Deployments created at once (default 20)', (v) => positiveInt('--deployments', v))
  .option('--replicas <n>', 'density: replicas per Deployment (default 1000)', (v) => positiveInt('--replicas', v))
  .option('--list-slice-items <n>', 'density: the probe asks for its unpaged LISTs in slices of this many items, sent over several turns of the API server (default 500; 0: one reply)', (v) => nonNegativeInt('--list-slice-items', v))
  .option('--list-page-limit <n>', 'density: the probe LISTs every pod at one revision in pages of this many (default 0: one unpaged LIST; kubectl pages by 500)', (v) => nonNegativeInt('--list-page-limit', v))
  .option('--apiservers <n>', 'density: API servers (kube-apiserver HA), each its own thread and watch cache; the clients are spread over them in turn (default 1)', (v) => positiveInt('--apiservers', v))
  .option('--priority-and-fairness', 'density: API Priority and Fairness in the API servers (kube-apiserver\'s --enable-priority-and-fairness; default off here; on, the 1,000-node SLOs are met): quiet priority levels start ahead of a burst\'s queues')
  .option('--probe-threads <n>', 'density: 2 (default): the probe\'s mutating calls and its LISTs from two clients in two threads; 1: both from one', (v) => positiveInt('--probe-threads', v))
  .option('--controller-manager-qps <n>', 'density: the controller-manager\'s client-side QPS and burst (kube-controller-manager\'s --kube-api-qps; default: no limit)', (v) => positiveInt('--controller-manager-qps', v))
  .option('--latency-pods <n>', 'density: ClusterLoader2\'s latency phase after the burst: this many single-pod Deployments, their startup timed (Kubernetes judges the pod startup SLO on them; default 500, CL2\'s minimum; 0: none)', (v) => nonNegativeInt('--latency-pods', v))
  .option('--latency-pods-qps <n>', 'density: latency pods created this many a second (default 20; CL2 creates 5 a second)', (v) => positiveInt('--latency-pods-qps', v))
  .option('--kill-controller-manager-leader-at <s>', 'density: kill the leading controller-manager this many seconds into the burst (a takeover at scale: time to a new term, the new leader\'s event-loop delay)', (v) => nonNegativeInt('--kill-controller-manager-leader-at', v))
  .option('--only <rows>', 'kv: only these rows (failover: the leader kills at both timings, beside etcd; processes: the cross-process rows, etcd3 client processes on both sides; sequential: the sequential put rows in rounds alternated with etcd\'s, pooled, with intervals and a verdict)')
  .option('--rounds <n>', 'kv --only sequential: rounds of 2,000 sequential puts per side (default 10)', (v) => positiveInt('--rounds', v))
  .option('--no-leader-down-failover', 'kv: our replicas fail over by the election timeout alone, as etcd (no failure detector)')
  .option('--repeat <n>', 'sim: run every size n times, in rounds (speedup_<nodes> is then the median; one run moves by a quarter)', (v) => positiveInt('--repeat', v))
  .action(async (name: string, options: { json?: boolean; quick?: boolean; repeat?: number; nodes?: number; pods?: number; deployments?: number; replicas?: number; listPageLimit?: number; listSliceItems?: number; apiservers?: number; priorityAndFairness?: boolean; probeThreads?: number; controllerManagerQps?: number; killControllerManagerLeaderAt?: number; latencyPods?: number; latencyPodsQps?: number; only?: string; leaderDownFailover?: boolean; rounds?: number }) => {
    process.exitCode = await runBench(name, {
      json: options.json === true, quick: options.quick === true, only: options.only, leaderDownFailover: options.leaderDownFailover, repeat: options.repeat, rounds: options.rounds,
      sizes: { nodes: options.nodes, pods: options.pods, deployments: options.deployments, replicas: options.replicas, listPageLimit: options.listPageLimit, listSliceItems: options.listSliceItems, apiservers: options.apiservers, priorityAndFairness: options.priorityAndFairness, probeThreads: options.probeThreads, controllerManagerQps: options.controllerManagerQps, killControllerManagerLeaderAtS: options.killControllerManagerLeaderAt, latencyPods: options.latencyPods, latencyPodsQps: options.latencyPodsQps },
    });
  });

program
  .command('up')
  .description('start a whole cluster (etcd, apiserver, and the components built so far), write a kubeconfig, show live status')
  .option('--nodes <n>', 'worker nodes', (v) => nonNegativeInt('--nodes', v), 3)
  .option('--apiservers <n>', 'API servers (kube-apiserver HA), each its own thread and watch cache over the same store; the components are spread over them in turn; only the first listens on --port', (v) => positiveInt('--apiservers', v), 1)
  .option('--priority-and-fairness', 'API Priority and Fairness in the API servers, as kube-apiserver\'s --enable-priority-and-fairness (default off here: it meets every SLO at 1,000 nodes but costs a 5,000-node burst throughput): requests classified by Kubernetes\' FlowSchemas, quiet levels started ahead of busy ones\' queues')
  .addOption(new Option('--runtime <kind>', 'the nodes\' container runtime').choices(['sim', 'process', 'worker']).default('sim'))
  .addOption(new Option('--profile <name>', 'time profile: Kubernetes\' own timeouts, or all divided by 10').choices(['realistic', 'fast']).default('realistic'))
  .option('--port <port>', 'the API server\'s HTTPS port on 127.0.0.1 (0: any free port)', (v) => nonNegativeInt('--port', v), 6443)
  .option('--data-dir <dir>', 'keep the cluster\'s state here across restarts (default: a temporary directory)')
  .option('--kubeconfig <file>', 'where to write the admin kubeconfig', 'kubeconfig')
  .option('--metrics-port <port>', 'serve every component\'s Prometheus series on 127.0.0.1:<port>/metrics (0: any free port) and write prometheus.yml beside the kubeconfig', (v) => port('--metrics-port', v))
  .option('--allow-processes', 'let the process runtime run real commands')
  .option('--duration <s>', 'stop after this many seconds (0: until Ctrl-C)', (v) => nonNegativeInt('--duration', v), 0)
  .option('--interval <ms>', 'status refresh period', (v) => positiveInt('--interval', v), 1000)
  .option('--json', 'print status as JSON lines')
  .option('--log-level <level>', 'pino level of the components\' logs (stderr)', 'warn')
  .option('--outlive-parent', 'keep running when the process that started this one exits (for nohup or setsid; a process manager is better)')
  .addOption(new Option('--store <kind>', 'the API server\'s store: raft (kubethreads\' own replicas, in threads) or etcd (a local 3-member etcd started from the installed binary with the profile\'s heartbeat and election timeout, data under --data-dir/etcd, stopped with the cluster)').choices(['raft', 'etcd']))
  .option('--controller-manager-qps <n>', 'the controller-manager\'s client-side requests a second (kube-controller-manager\'s --kube-api-qps; default: no limit)', (v) => positiveInt('--controller-manager-qps', v))
  .option('--controller-manager-burst <n>', 'with --controller-manager-qps: the bucket\'s size (--kube-api-burst; default: the qps)', (v) => positiveInt('--controller-manager-burst', v))
  .option('--etcd-endpoints <urls>', 'run the API server on an existing etcd v3 cluster (comma-separated client URLs, e.g. http://127.0.0.1:2379,http://127.0.0.1:22379); nothing is started or stopped; keys under /registry/', (v) => endpoints(v))
  .action(async (o: { nodes: number; runtime: 'sim' | 'process' | 'worker'; profile: 'realistic' | 'fast'; port: number; dataDir?: string; kubeconfig: string; allowProcesses?: boolean; duration: number; interval: number; json?: boolean; logLevel: string; outliveParent?: boolean; metricsPort?: number; store?: 'raft' | 'etcd'; etcdEndpoints?: string[]; apiservers: number; priorityAndFairness?: boolean; controllerManagerQps?: number; controllerManagerBurst?: number }) => {
    if (o.store === 'raft' && o.etcdEndpoints !== undefined) throw new InvalidArgumentError('--etcd-endpoints runs the API server on etcd: it does not go with --store raft');
    process.exitCode = await runUp({
      spec: {
        nodes: o.nodes, runtime: o.runtime, profile: o.profile, port: o.port, dataDir: o.dataDir, kubeconfigPath: o.kubeconfig, allowProcesses: o.allowProcesses === true,
        store: o.store, etcdEndpoints: o.etcdEndpoints, apiservers: o.apiservers, priorityAndFairness: o.priorityAndFairness === true,
        controllerManagerQps: o.controllerManagerQps, controllerManagerBurst: o.controllerManagerBurst,
      },
      logLevel: o.logLevel, durationS: o.duration, intervalMs: o.interval, json: o.json === true, watchParent: o.outliveParent !== true,
      metricsPort: o.metricsPort,
    });
  });

program
  .command('etcd')
  .description('run the etcd stand-in alone (a Raft group of MVCC replicas, each in its own thread) with live status per replica')
  .option('--replicas <n>', 'number of replicas (odd)', (v) => positiveInt('--replicas', v), 3)
  .option('--data-dir <dir>', 'keep the replicas\' write-ahead logs and snapshots here (default: a temporary directory)')
  .option('--tick-ms <ms>', 'one Raft tick (heartbeat = 1 tick, election timeout = 10 ticks)', (v) => positiveInt('--tick-ms', v), 100)
  .option('--duration <s>', 'stop after this many seconds (0: until Ctrl-C)', (v) => nonNegativeInt('--duration', v), 0)
  .option('--interval <ms>', 'status refresh period', (v) => positiveInt('--interval', v), 500)
  .option('--json', 'print status as JSON lines')
  .option('--log-level <level>', 'pino level of the replicas\' logs (stderr)', 'warn')
  .addOption(new Option('--auto-compaction-mode <mode>', 'as etcd: periodic (keep a duration of history) or revision (keep a number of revisions)').choices(['periodic', 'revision']))
  .option('--auto-compaction-retention <value>', 'as etcd: for periodic a duration (30m, 1h) or hours; for revision a number of revisions (default: no auto-compaction)')
  .action(async (o: { replicas: number; dataDir?: string; tickMs: number; duration: number; interval: number; json?: boolean; logLevel: string; autoCompactionMode?: AutoCompactionMode; autoCompactionRetention?: string }) => {
    process.exitCode = await runEtcdCommand({
      replicas: o.replicas, dataDir: o.dataDir, tickMs: o.tickMs, durationS: o.duration, intervalMs: o.interval, json: o.json === true, logLevel: o.logLevel,
      autoCompaction: autoCompaction(o.autoCompactionMode, o.autoCompactionRetention),
    });
  });

const etcdCommand = program.commands.find((c) => c.name() === 'etcd')!;
etcdCommand
  .command('member')
  .description('change the membership of a running `kubethreads etcd` (found by its --data-dir): list; add (a learner, as etcdctl member add --learner); promote ID; remove ID')
  .argument('<verb>', 'list, add, promote or remove')
  .argument('[id]', 'the member id (promote, remove)')
  .option('--data-dir <dir>', 'the data dir of the running kubethreads etcd (required)')
  .action(async (verb: string, id: string | undefined, o: { dataDir?: string }) => {
    // `etcd` has a --data-dir of its own, which commander may hand to it instead.
    const dataDir = o.dataDir ?? (etcdCommand.opts() as { dataDir?: string }).dataDir;
    if (dataDir === undefined) throw new InvalidArgumentError('--data-dir: the data dir of the running kubethreads etcd is required');
    if (!(MEMBER_VERBS as readonly string[]).includes(verb)) throw new InvalidArgumentError(`unknown verb ${verb}; known: ${MEMBER_VERBS.join(', ')}`);
    const memberId = id === undefined ? undefined : positiveInt('id', id);
    if ((verb === 'promote' || verb === 'remove') && memberId === undefined) throw new InvalidArgumentError(`${verb} needs a member id`);
    const reply = await requestEtcdControl(dataDir, verb as MemberVerb, memberId);
    for (const line of formatControlReply(reply)) (reply.ok ? process.stdout : process.stderr).write(`${line}\n`);
    process.exitCode = reply.ok ? 0 : 1;
  });

program
  .command('nodes')
  .description('start worker nodes in this process that join an API server over HTTPS (kubethreads up\'s or any conformant one)')
  .requiredOption('--kubeconfig <file>', 'the API server to join and how to authenticate (its current context)')
  .option('--context <name>', 'a kubeconfig context other than the current one')
  .option('--count <n>', 'how many nodes', (v) => positiveInt('--count', v), 1)
  .option('--prefix <p>', 'nodes are named <p>-0, <p>-1, ... and labelled kubethreads.io/node-pool=<p>', 'remote')
  .option('--first-index <i>', 'address block of the first node: processes on one machine need disjoint ranges (up\'s nodes use 0..)', (v) => nonNegativeInt('--first-index', v), 1000)
  .addOption(new Option('--runtime <kind>', 'the nodes\' container runtime').choices(['sim', 'process', 'worker']).default('sim'))
  .addOption(new Option('--profile <name>', 'time profile: match the cluster\'s (heartbeats every 10 s, or every 1 s with fast)').choices(['realistic', 'fast']).default('realistic'))
  .option('--kubelet-port <port>', 'the kubelets\' HTTPS endpoint (logs) on each node IP (0: any free port)', (v) => port('--kubelet-port', v), 10250)
  .option('--data-dir <dir>', 'where the process runtime keeps logs (default: a temporary directory)')
  .option('--allow-processes', 'let the process runtime run real commands')
  .option('--duration <s>', 'stop after this many seconds (0: until Ctrl-C or SIGTERM)', (v) => nonNegativeInt('--duration', v), 0)
  .option('--interval <ms>', 'status refresh period', (v) => positiveInt('--interval', v), 1000)
  .option('--json', 'print status as JSON lines')
  .option('--log-level <level>', 'pino level of the nodes\' logs (stderr)', 'warn')
  .option('--outlive-parent', 'keep running when the process that started this one exits')
  .action(async (o: { kubeconfig: string; context?: string; count: number; prefix: string; firstIndex: number; runtime: 'sim' | 'process' | 'worker'; profile: 'realistic' | 'fast'; kubeletPort: number; dataDir?: string; allowProcesses?: boolean; duration: number; interval: number; json?: boolean; logLevel: string; outliveParent?: boolean }) => {
    process.exitCode = await runNodes({
      kubeconfig: o.kubeconfig, context: o.context, count: o.count, prefix: o.prefix, firstIndex: o.firstIndex, runtime: o.runtime, profile: o.profile,
      kubeletPort: o.kubeletPort, dataDir: o.dataDir, allowProcesses: o.allowProcesses === true, durationS: o.duration, intervalMs: o.interval,
      json: o.json === true, logLevel: o.logLevel, watchParent: o.outliveParent !== true,
    });
  });

registerChaosCommand(program);

/** etcd's pair of flags: both or neither. */
function autoCompaction(mode: AutoCompactionMode | undefined, retention: string | undefined): AutoCompactionConfig | undefined {
  if (mode === undefined && retention === undefined) return undefined;
  if (mode === undefined || retention === undefined) throw new InvalidArgumentError('give --auto-compaction-mode and --auto-compaction-retention together (e.g. --auto-compaction-mode periodic --auto-compaction-retention 1h)');
  try {
    return { mode, retention: parseAutoCompactionRetention(mode, retention) };
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} needs a positive integer, not ${JSON.stringify(value)}`);
  return n;
}

function port(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError(`${flag} needs a port number 0..65535, not ${JSON.stringify(value)}`);
  return n;
}

function endpoints(value: string): string[] {
  try {
    return parseEtcdEndpoints(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

function nonNegativeInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} needs a non-negative integer, not ${JSON.stringify(value)}`);
  return n;
}

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`kubethreads: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
