// Server discovery, with the machine faked: which commands exist and what `--version` prints.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { candidates, commandLine, discover, DiscoveryInput, expandCommand, isPython, Probe, ProbeResult } from '../../src/discovery';

const HOME = '/home/ada';
const WS = '/home/ada/project';

function input(overrides: Partial<DiscoveryInput> = {}): DiscoveryInput {
  return { setting: '', workspaceFolder: WS, home: HOME, platform: 'linux', env: { VENV: '/opt/venv' }, ...overrides };
}

const ok = (version = '0.1.0'): ProbeResult => ({ exitCode: 0, stdout: `torchwire ${version}\n`, stderr: '' });
const missing: ProbeResult = { exitCode: null, stdout: '', stderr: '', error: 'ENOENT' };
const noModule = (python: string): ProbeResult => ({ exitCode: 1, stdout: '', stderr: `${python}: No module named torchwire\n` });

/** A fake machine: `answers` maps a command line (without `--version`) to what it prints. */
function machine(answers: Record<string, ProbeResult>): Probe & { calls: string[] } {
  const calls: string[] = [];
  const fake = async (command: string, args: string[]) => {
    assert.equal(args[args.length - 1], '--version');
    const line = [command, ...args.slice(0, -1)].join(' ');
    calls.push(line);
    return answers[line] ?? missing;
  };
  return Object.assign(fake, { calls });
}

describe('candidates', () => {
  test('unset: interpreter, then python3 -m torchwire, then torchwire on PATH', () => {
    const { list } = candidates(input({ interpreter: '/venv/bin/python' }));
    assert.deepEqual(
      list.map((c) => [c.origin, commandLine(c.command, c.args)]),
      [
        ['interpreter', '/venv/bin/python -m torchwire'],
        ['python', 'python3 -m torchwire'],
        ['path', 'torchwire'],
      ],
    );
  });

  test('no Python extension: no interpreter candidate', () => {
    assert.deepEqual(
      candidates(input()).list.map((c) => c.origin),
      ['python', 'path'],
    );
  });

  test('Windows uses python', () => {
    assert.equal(candidates(input({ platform: 'win32' })).list[0].command, 'python');
  });

  test('the interpreter python3 itself is tried once', () => {
    assert.deepEqual(
      candidates(input({ interpreter: 'python3' })).list.map((c) => c.origin),
      ['interpreter', 'path'],
    );
  });

  for (const unset of [undefined, null, '', []]) {
    test(`setting ${JSON.stringify(unset)} counts as unset`, () => {
      assert.equal(candidates(input({ setting: unset })).list[0].origin, 'python');
    });
  }

  test('a torchwire executable in the setting is the only candidate', () => {
    const { list } = candidates(input({ setting: '/work/.venv/bin/torchwire', interpreter: '/venv/bin/python' }));
    assert.deepEqual(list, [{ command: '/work/.venv/bin/torchwire', args: [], origin: 'setting' }]);
  });

  test('a Python interpreter in the setting runs the module', () => {
    for (const python of ['/work/.venv/bin/python', '/usr/bin/python3.11', 'C:\\venv\\Scripts\\python.exe']) {
      const platform = python.startsWith('C:') ? 'win32' : 'linux';
      assert.deepEqual(candidates(input({ setting: python, platform })).list[0].args, ['-m', 'torchwire'], python);
    }
  });

  test('an array is a command with its arguments; a trailing serve or --stdio is dropped', () => {
    assert.deepEqual(candidates(input({ setting: ['/usr/bin/python3', '-m', 'torchwire'] })).list[0], {
      command: '/usr/bin/python3',
      args: ['-m', 'torchwire'],
      origin: 'setting',
    });
    assert.deepEqual(candidates(input({ setting: ['torchwire', 'serve', '--stdio'] })).list[0].args, []);
    assert.deepEqual(candidates(input({ setting: ['uvx', 'torchwire'] })).list[0].args, ['torchwire']);
  });

  test('an invalid setting is a problem, not a fallback', () => {
    for (const bad of [42, { command: 'x' }, ['python3', 7], ['  ']]) {
      const result = candidates(input({ setting: bad }));
      assert.deepEqual(result.list, []);
      assert.match(result.problem ?? '', /torchwire\.path/);
    }
  });
});

describe('expandCommand', () => {
  test('~, ${userHome}, ${workspaceFolder}, ${env:NAME}', () => {
    assert.equal(expandCommand('~/venv/bin/torchwire', input()), '/home/ada/venv/bin/torchwire');
    assert.equal(expandCommand('${userHome}/x', input()), '/home/ada/x');
    assert.equal(expandCommand('${workspaceFolder}/.venv/bin/python', input()), '/home/ada/project/.venv/bin/python');
    assert.equal(expandCommand('${env:VENV}/bin/python', input()), '/opt/venv/bin/python');
  });

  test('a relative path resolves against the workspace; a bare name stays for PATH', () => {
    assert.equal(expandCommand('.venv/bin/torchwire', input()), '/home/ada/project/.venv/bin/torchwire');
    assert.equal(expandCommand('./tw', input()), '/home/ada/project/tw');
    assert.equal(expandCommand('torchwire', input()), 'torchwire');
  });

  test('Windows paths', () => {
    const win = input({ platform: 'win32', workspaceFolder: 'C:\\proj', home: 'C:\\Users\\ada' });
    assert.equal(expandCommand('.venv\\Scripts\\torchwire.exe', win), 'C:\\proj\\.venv\\Scripts\\torchwire.exe');
    assert.equal(expandCommand('~\\tw.exe', win), 'C:\\Users\\ada\\tw.exe');
  });

  test('isPython', () => {
    assert.ok(isPython('/usr/bin/python3', 'linux'));
    assert.ok(isPython('python3.12', 'linux'));
    assert.ok(!isPython('/usr/bin/torchwire', 'linux'));
    assert.ok(!isPython('/usr/bin/python-config', 'linux'));
  });
});

describe('discover', () => {
  test('the setting, when it works, is started with serve', async () => {
    const probe = machine({ '/w/.venv/bin/torchwire': ok('0.1.0') });
    const found = await discover(input({ setting: '/w/.venv/bin/torchwire' }), probe);
    assert.ok(found.found);
    assert.deepEqual(found.server, { command: '/w/.venv/bin/torchwire', args: ['serve'] });
    assert.equal(found.version, '0.1.0');
  });

  test('a Python in the setting runs python -m torchwire serve', async () => {
    const probe = machine({ '/w/.venv/bin/python -m torchwire': ok() });
    const found = await discover(input({ setting: '/w/.venv/bin/python' }), probe);
    assert.ok(found.found);
    assert.deepEqual(found.server, { command: '/w/.venv/bin/python', args: ['-m', 'torchwire', 'serve'] });
  });

  test('a broken setting is reported and nothing else is tried', async () => {
    const probe = machine({ 'python3 -m torchwire': ok() });
    const found = await discover(input({ setting: '/nope/torchwire' }), probe);
    assert.ok(!found.found);
    assert.deepEqual(probe.calls, ['/nope/torchwire']);
    assert.match(found.message, /torchwire\.path/);
    assert.match(found.message, /\/nope\/torchwire was not found/);
    assert.match(found.message, /pip install torchwire/);
  });

  test('a command with arguments in a string gets a hint about arrays', async () => {
    const found = await discover(input({ setting: 'python3 -m torchwire' }), machine({}));
    assert.ok(!found.found);
    assert.match(found.message, /array/);
  });

  test('the selected interpreter wins over python3', async () => {
    const probe = machine({ '/venv/bin/python -m torchwire': ok('0.2.0'), 'python3 -m torchwire': ok('0.1.0') });
    const found = await discover(input({ interpreter: '/venv/bin/python' }), probe);
    assert.ok(found.found);
    assert.equal(found.candidate.origin, 'interpreter');
    assert.equal(found.version, '0.2.0');
    assert.deepEqual(probe.calls, ['/venv/bin/python -m torchwire']);
  });

  test('falls back to python3, then to torchwire on PATH', async () => {
    const viaPython = await discover(
      input({ interpreter: '/venv/bin/python' }),
      machine({ '/venv/bin/python -m torchwire': noModule('/venv/bin/python'), 'python3 -m torchwire': ok() }),
    );
    assert.ok(viaPython.found);
    assert.equal(viaPython.candidate.origin, 'python');
    assert.equal(viaPython.attempts[0].problem, 'torchwire is not installed for /venv/bin/python');

    const viaPath = await discover(input(), machine({ 'python3 -m torchwire': noModule('python3'), torchwire: ok() }));
    assert.ok(viaPath.found);
    assert.deepEqual(viaPath.server, { command: 'torchwire', args: ['serve'] });
  });

  test('nothing found: one message with the install command for the selected interpreter', async () => {
    const probe = machine({ '/venv/bin/python -m torchwire': noModule('/venv/bin/python'), 'python3 -m torchwire': noModule('python3') });
    const found = await discover(input({ interpreter: '/venv/bin/python' }), probe);
    assert.ok(!found.found);
    assert.equal(found.attempts.length, 3);
    assert.equal(found.installCommand, '/venv/bin/python -m pip install torchwire');
    assert.match(found.message, /selected Python interpreter \(\/venv\/bin\/python\)/);
    assert.ok(found.message.endsWith('install it: /venv/bin/python -m pip install torchwire'), found.message);
    assert.ok(!/Error|at .*\(/.test(found.message), 'no stack trace');
  });

  test('nothing found without the Python extension: pip install torchwire', async () => {
    const found = await discover(input(), machine({}));
    assert.ok(!found.found);
    assert.equal(found.installCommand, 'pip install torchwire');
    assert.match(found.message, /not found in python3, nor on PATH/);
  });

  test('a program that is not torchwire, a crash, a timeout, a probe that throws', async () => {
    const cases: Array<[ProbeResult | Error, RegExp]> = [
      [{ exitCode: 0, stdout: 'Python 3.11.7\n', stderr: '' }, /is not torchwire/],
      [{ exitCode: 2, stdout: '', stderr: 'Traceback...\nImportError: cannot import name x\n' }, /exited with code 2: ImportError: cannot import name x/],
      [{ exitCode: null, stdout: '', stderr: '', error: 'timeout' }, /did not answer in time/],
      [{ exitCode: null, stdout: '', stderr: '', error: 'EACCES' }, /is not executable/],
      [new Error('boom'), /could not be started/],
    ];
    for (const [answer, expected] of cases) {
      const probe: Probe = async () => {
        if (answer instanceof Error) {
          throw answer;
        }
        return answer;
      };
      const found = await discover(input({ setting: '/x/torchwire' }), probe);
      assert.ok(!found.found);
      assert.match(found.attempts[0].problem ?? '', expected);
    }
  });

  test('an invalid setting: a message, no probe', async () => {
    const probe = machine({});
    const found = await discover(input({ setting: 3 }), probe);
    assert.ok(!found.found);
    assert.deepEqual(probe.calls, []);
    assert.match(found.message, /must be a path or an array of strings/);
  });
});

test('commandLine quotes what a shell would need quoted', () => {
  assert.equal(commandLine('/a b/python', ['-m', 'torchwire']), '"/a b/python" -m torchwire');
});
