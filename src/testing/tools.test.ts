import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MissingToolError, requireTool } from './tools.js';

describe('requireTool: skip with a message, or fail under REQUIRE_TOOLS=1', () => {
  test('a tool that is there never skips, whatever REQUIRE_TOOLS says', () => {
    assert.equal(requireTool('etcd', true, 'run scripts/install-etcd.sh', {}), false);
    assert.equal(requireTool('etcd', true, 'run scripts/install-etcd.sh', { REQUIRE_TOOLS: '1' }), false);
  });

  test('a missing tool skips with a message naming it and how to install it', () => {
    const reason = requireTool('etcd', false, 'run scripts/install-etcd.sh', {});
    assert.equal(typeof reason, 'string');
    assert.match(reason as string, /^etcd is not installed, skipped: run scripts\/install-etcd\.sh/);
  });

  test('under REQUIRE_TOOLS=1 a missing tool throws, naming it and how to install it', () => {
    assert.throws(() => requireTool('etcd', false, 'run scripts/install-etcd.sh', { REQUIRE_TOOLS: '1' }), (e: unknown) => e instanceof MissingToolError && /etcd is required.*install-etcd\.sh/.test(e.message));
  });

  test('only REQUIRE_TOOLS=1 requires: any other value still skips', () => {
    assert.equal(typeof requireTool('etcd', false, 'x', { REQUIRE_TOOLS: '0' }), 'string');
    assert.equal(typeof requireTool('etcd', false, 'x', { REQUIRE_TOOLS: '' }), 'string');
  });
});
