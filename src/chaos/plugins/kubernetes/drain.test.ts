import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Pod } from '../../../api/types/index.js';
import { pickNode } from './drain.js';

describe('drain-node and partition-node pick their node', () => {
  test('the drain picks the named node, else the one running the most pods of the app, the first on a tie', () => {
    const on = (name: string, node: string, app: string): Pod => ({ metadata: { name, labels: { app } }, spec: { nodeName: node, containers: [] } } as unknown as Pod);
    const pods = [on('a', 'node-1', 'web'), on('b', 'node-1', 'web'), on('c', 'node-2', 'db'), on('d', 'node-2', 'db'), on('e', 'node-0', 'db')];
    assert.equal(pickNode(['node-0', 'node-1', 'node-2'], pods, undefined), 'node-1', 'node-1 and node-2 run two each: the first wins');
    assert.equal(pickNode(['node-0', 'node-1', 'node-2'], pods, undefined, 'db'), 'node-2');
    assert.equal(pickNode(['node-0', 'node-1', 'node-2'], pods, undefined, 'web'), 'node-1');
    assert.equal(pickNode(['node-0', 'node-1'], [], undefined), 'node-0');
    assert.equal(pickNode(['node-0'], pods, 'node-9'), undefined);
  });
});
