// The settings object sent to the server.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { serverSettings } from '../../src/settings';

const from = (section: Record<string, unknown>) => serverSettings((key) => section[key]);

test('defaults: every rule, nothing ignored, no severity override, server debounce', () => {
  assert.deepEqual(from({}), { select: null, ignore: [], severity: {} });
  assert.deepEqual(from({ select: [], ignore: [], severity: {}, debounce: 150 }), {
    select: null,
    ignore: [],
    severity: {},
    debounce: 150,
  });
});

test('select, ignore and severity pass through', () => {
  assert.deepEqual(from({ select: ['TW1', 'TW203'], ignore: ['TW205'], severity: { TW202: 'error', TW101: 'Hint' } }), {
    select: ['TW1', 'TW203'],
    ignore: ['TW205'],
    severity: { TW202: 'error', TW101: 'hint' },
  });
});

test('entries of the wrong type are left out, the rest kept', () => {
  assert.deepEqual(
    from({ select: 'TW1', ignore: ['TW205', 3, ' '], severity: { TW202: 'fatal', TW101: 'info', '': 'error' }, debounce: -1 }),
    { select: null, ignore: ['TW205'], severity: { TW101: 'info' } },
  );
  assert.deepEqual(from({ severity: ['TW101'] }).severity, {});
  assert.equal(from({ debounce: 99.6 }).debounce, 100);
});

test('codeLens is sent when it is a boolean', () => {
  assert.equal(from({ codeLens: false }).codeLens, false);
  assert.equal(from({ codeLens: 'no' }).codeLens, undefined);
});
