import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from '../api/types/index.js';
import { expiresAtMs, finishedAtMs } from './ttl-after-finished.js';

const job = (ttl: number | undefined, conditions: { type: string; status: 'True' | 'False'; lastTransitionTime?: string }[], completionTime?: string): Job => ({
  metadata: { name: 'j' },
  spec: { template: { spec: { containers: [] } }, ...(ttl !== undefined ? { ttlSecondsAfterFinished: ttl } : {}) },
  status: { conditions, ...(completionTime ? { completionTime } : {}) },
});

test('a finished Job expires ttlSecondsAfterFinished after it finished (completionTime, or when Failed turned True); running Jobs and Jobs without a TTL never do', () => {
  assert.equal(expiresAtMs(job(30, [{ type: 'Complete', status: 'True', lastTransitionTime: '2026-01-01T00:00:05Z' }], '2026-01-01T00:00:04Z')), Date.parse('2026-01-01T00:00:34Z'));
  assert.equal(expiresAtMs(job(0, [{ type: 'Failed', status: 'True', lastTransitionTime: '2026-01-01T00:01:00Z' }])), Date.parse('2026-01-01T00:01:00Z'), 'a TTL of 0: at once');
  assert.equal(finishedAtMs(job(30, [{ type: 'SuccessCriteriaMet', status: 'True' }])), undefined, 'an interim condition is not the end');
  assert.equal(expiresAtMs(job(30, [{ type: 'Complete', status: 'False' }])), undefined);
  assert.equal(expiresAtMs(job(undefined, [{ type: 'Complete', status: 'True', lastTransitionTime: '2026-01-01T00:00:05Z' }])), undefined);
});
