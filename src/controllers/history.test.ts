import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControllerRevision, PodTemplateSpec, StatefulSet } from '../api/types/index.js';
import { buildRevision, decideUpdateRevision, revisionsToPrune, templateOfRevision, type RevisionOwner } from './history.js';

const template = (image: string): PodTemplateSpec => ({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } });

function owner(image: string, collisionCount?: number): RevisionOwner {
  const set: StatefulSet = { metadata: { name: 'web', namespace: 'default', uid: 's1', annotations: { 'kubernetes.io/change-cause': 'why' } }, spec: { selector: { matchLabels: { app: 'web' } }, template: template(image) } };
  return { object: set, apiVersion: 'apps/v1', kind: 'StatefulSet', labels: { app: 'web' }, template: template(image), collisionCount };
}

const stored = (image: string, revision: number): ControllerRevision => buildRevision(owner(image), revision, false);

describe('ControllerRevisions', () => {
  test('a revision stores the template as the patch kubectl rollout undo sends back, named <set>-<hash>, labelled and owned like the set', () => {
    const r = stored('nginx:1', 1);
    assert.deepEqual(r.data?.spec?.template?.$patch, 'replace');
    assert.deepEqual(templateOfRevision(r), template('nginx:1'));
    assert.match(r.metadata.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.deepEqual(r.metadata.labels, { app: 'web' });
    assert.equal(r.metadata.annotations?.['kubernetes.io/change-cause'], 'why', 'the change cause shows in rollout history');
    assert.equal(r.metadata.ownerReferences?.[0]?.uid, 's1');
    assert.notEqual(stored('nginx:2', 1).metadata.name, r.metadata.name, 'another template, another name');
    assert.notEqual(buildRevision(owner('nginx:1', 1), 1, false).metadata.name, r.metadata.name, 'a collision count changes the name');
    assert.ok(buildRevision(owner('nginx:1'), 1, true).metadata.labels?.['controller-revision-hash'], 'DaemonSet revisions carry their hash as a label');
  });

  test('an unchanged template reuses the latest revision; a new one gets the next number', () => {
    const history = [stored('nginx:1', 1), stored('nginx:2', 2)];
    assert.deepEqual(decideUpdateRevision(owner('nginx:2'), history, false).kind, 'reuse');
    const created = decideUpdateRevision(owner('nginx:3'), history, false);
    assert.equal(created.kind, 'create');
    assert.equal(created.revision.revision, 3);
  });

  test('going back to an earlier template renumbers its revision instead of making a new one', () => {
    const history = [stored('nginx:1', 1), stored('nginx:2', 2)];
    const back = decideUpdateRevision(owner('nginx:1'), history, false);
    assert.equal(back.kind, 'renumber');
    assert.equal(back.kind === 'renumber' ? back.to : 0, 3);
    assert.equal(back.revision.metadata.name, history[0]!.metadata.name);
  });

  test('history beyond the limit is pruned oldest first, never a live revision', () => {
    const history = [1, 2, 3, 4].map((n) => stored(`nginx:${n}`, n));
    const live = new Set([history[0]!.metadata.name!, history[3]!.metadata.name!]);
    assert.deepEqual(revisionsToPrune(history, live, 1).map((r) => r.revision), [2]);
    assert.deepEqual(revisionsToPrune(history, live, 0).map((r) => r.revision), [2, 3]);
    assert.deepEqual(revisionsToPrune(history, live, 10), []);
  });
});
