import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyChange, configFromConfState, confStateFromConfig, enterJoint, entersJoint, leaveJoint, simple, type ChangeResult, type MembershipConfig } from './confchange.js';

const cfg = (voters: number[], learners: number[] = []): MembershipConfig => configFromConfState({ voters, learners });

function ok(r: ChangeResult): MembershipConfig {
  if (!r.ok) assert.fail(`refused: ${r.error}`);
  return r.config;
}

function refused(r: ChangeResult): string {
  if (r.ok) assert.fail(`accepted: ${JSON.stringify(confStateFromConfig(r.config))}`);
  return r.error;
}

describe('entering and leaving a joint configuration', () => {
  test('entering copies the voters to the outgoing half and applies the changes to the incoming one', () => {
    const next = ok(enterJoint(cfg([1, 2, 3], [4]), true, [{ type: 'addVoter', nodeId: 4 }, { type: 'removeVoter', nodeId: 3 }]));
    assert.deepEqual(confStateFromConfig(next), { voters: [1, 2, 4], learners: [], votersOutgoing: [1, 2, 3], learnersNext: [], autoLeave: true });
  });

  test('a joint configuration cannot be entered from a joint one', () => {
    const joint = ok(enterJoint(cfg([1, 2, 3]), false, [{ type: 'addVoter', nodeId: 4 }]));
    assert.equal(refused(enterJoint(joint, false, [{ type: 'addVoter', nodeId: 5 }])), 'config is already joint');
    assert.equal(refused(simple(joint, [{ type: 'addVoter', nodeId: 5 }])), "can't apply simple config change in joint config");
  });

  test('a configuration that is not joint cannot be left', () => {
    assert.equal(refused(leaveJoint(cfg([1, 2, 3]))), "can't leave a non-joint config");
  });

  test('a voter demoted in a joint configuration stays a voter of the outgoing half and becomes a learner when it is left', () => {
    const joint = ok(enterJoint(cfg([1, 2, 3]), false, [{ type: 'addLearner', nodeId: 3 }]));
    assert.deepEqual(confStateFromConfig(joint), { voters: [1, 2], learners: [], votersOutgoing: [1, 2, 3], learnersNext: [3], autoLeave: false });
    assert.deepEqual(confStateFromConfig(ok(leaveJoint(joint))), { voters: [1, 2], learners: [3] });
  });

  test('a change that removes every voter is refused, joint or not', () => {
    assert.equal(refused(enterJoint(cfg([1, 2]), true, [{ type: 'removeVoter', nodeId: 1 }, { type: 'removeVoter', nodeId: 2 }])), 'removed all voters');
    assert.equal(refused(simple(cfg([1]), [{ type: 'removeVoter', nodeId: 1 }])), 'removed all voters');
  });
});

describe('simple changes', () => {
  test('more than one voter cannot change without a joint configuration', () => {
    const err = refused(simple(cfg([1, 2, 3]), [{ type: 'addVoter', nodeId: 4 }, { type: 'addVoter', nodeId: 5 }]));
    assert.equal(err, 'more than one voter changed without entering joint config');
  });

  test('promoting a learner moves it from learners to voters', () => {
    assert.deepEqual(confStateFromConfig(ok(simple(cfg([1, 2, 3], [4]), [{ type: 'addVoter', nodeId: 4 }]))), { voters: [1, 2, 3, 4], learners: [] });
  });

  test('learners may change in any number beside one voter', () => {
    const next = ok(simple(cfg([1, 2, 3]), [{ type: 'addLearner', nodeId: 4 }, { type: 'addLearner', nodeId: 5 }, { type: 'removeVoter', nodeId: 3 }]));
    assert.deepEqual(confStateFromConfig(next), { voters: [1, 2], learners: [4, 5] });
  });
});

describe('which transition a V2 change takes', () => {
  test('auto: one change is simple; several go joint and leave by themselves; explicit joint waits for the application', () => {
    assert.deepEqual(entersJoint({ transition: 'auto', changes: [{ type: 'addVoter', nodeId: 4 }] }), { joint: false, autoLeave: false });
    assert.deepEqual(entersJoint({ transition: 'auto', changes: [{ type: 'addVoter', nodeId: 4 }, { type: 'removeVoter', nodeId: 1 }] }), { joint: true, autoLeave: true });
    assert.deepEqual(entersJoint({ transition: 'jointImplicit', changes: [{ type: 'addVoter', nodeId: 4 }] }), { joint: true, autoLeave: true });
    assert.deepEqual(entersJoint({ transition: 'jointExplicit', changes: [{ type: 'addVoter', nodeId: 4 }] }), { joint: true, autoLeave: false });
  });

  test('an empty change leaves the joint configuration', () => {
    const joint = ok(applyChange(cfg([1, 2, 3], [4]), { transition: 'jointExplicit', changes: [{ type: 'addVoter', nodeId: 4 }, { type: 'removeVoter', nodeId: 1 }] }));
    assert.deepEqual(confStateFromConfig(ok(applyChange(joint, { transition: 'auto', changes: [] }))), { voters: [2, 3, 4], learners: [] });
  });
});
