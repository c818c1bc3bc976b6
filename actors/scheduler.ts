/**
 * kube-scheduler: two replicas, one active through a Lease in kube-system
 * (src/scheduler/component.ts).
 */
import { defineBehaviour } from '../src/actor/behaviour.js';
import type { ActorSystem } from '../src/actor/system.js';
import { createSchedulerComponent, type SchedulerComponentArgs, type SchedulerComponentMsg } from '../src/scheduler/component.js';

export const kubeScheduler = defineBehaviour<SchedulerComponentMsg, SchedulerComponentArgs>(import.meta.url, 'kube-scheduler', createSchedulerComponent);

/** Spawns `scheduler-0` … `scheduler-(replicas-1)`; `apiserverFor`, when given, names each one's API server in turn. */
export async function spawnSchedulers(system: ActorSystem, args: SchedulerComponentArgs, replicas = 2, apiserverFor?: () => string): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < replicas; i++) {
    const name = `scheduler-${i}`;
    await system.spawn(kubeScheduler, { name, args: apiserverFor === undefined ? args : { ...args, apiserver: apiserverFor() } });
    names.push(name);
  }
  return names;
}
