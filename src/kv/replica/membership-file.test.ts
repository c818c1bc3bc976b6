import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MEMBERSHIP_FILE, parseMembership, readMembershipFile, writeMembershipFile } from './membership-file.js';

test('members.json round-trips a group with a member removed and one joined; a new data dir has none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-members-'));
  try {
    assert.equal(readMembershipFile(dir), undefined);
    const membership = { namePrefix: 'etcd', members: { 1: 'etcd-0', 2: 'etcd-1', 3: 'etcd-2', 4: 'etcd-3' }, running: [4, 1, 3], joined: [4] };
    writeMembershipFile(dir, membership);
    assert.deepEqual(readMembershipFile(dir), { ...membership, running: [1, 3, 4] });
    assert.equal(JSON.parse(readFileSync(join(dir, MEMBERSHIP_FILE), 'utf8')).version, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a members.json that is not one this code wrote is refused with an error naming the file and the problem', () => {
  const bad: Array<[string, RegExp]> = [
    ['{', /m\.json: not JSON/],
    ['[]', /unknown version/],
    ['{"version":2}', /unknown version 2/],
    ['{"version":1,"namePrefix":"etcd","members":{"0":"etcd-0"},"running":[],"joined":[]}', /member id "0" is not a positive integer/],
    ['{"version":1,"namePrefix":"etcd","members":{"1":"etcd-0"},"running":[2],"joined":[]}', /running names 2, which is not among the members/],
    ['{"version":1,"namePrefix":"etcd","members":{"1":"etcd-0"},"running":[],"joined":[]}', /no replica is running/],
    ['{"version":1,"namePrefix":"","members":{},"running":[],"joined":[]}', /namePrefix must be a non-empty string/],
  ];
  for (const [text, error] of bad) assert.throws(() => parseMembership(text, 'm.json'), error, text);
  const dir = mkdtempSync(join(tmpdir(), 'kubethreads-members-'));
  try {
    writeFileSync(join(dir, MEMBERSHIP_FILE), 'not json');
    assert.throws(() => readMembershipFile(dir), /members\.json: not JSON; it records which replicas/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
