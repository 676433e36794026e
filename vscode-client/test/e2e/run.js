#!/usr/bin/env node
// End-to-end test of the packaged extension in real VS Code: code-server with the .vsix
// installed, driven in headless Chromium by playwright-core. It opens a copy of examples/ and
// checks what a user sees on seed_1_discarded_outputs.py:
//   1. the TW101 squiggle on `layer(x)`, its hover, and its entry in the Problems panel;
//   2. the hover on `self.layers` with its parameter table ("430 parameters");
//   3. the quick fix "Assign the output: `x = layer(x)` (unsafe)" from the lightbulb menu,
//      the saved file on disk, and the diagnostic gone;
//   4. a settings change (torchwire.severity, typed into settings.json) reaching the server;
//   5. a Jupyter notebook's Python cell getting the diagnostic;
// then, in a second code-server where python3 has no torchwire and torchwire.path is unset:
//   6. one notification with the install command, the status bar item, the restart command.
// The server is the repository's own (.venv/bin/torchwire), through the torchwire.path setting.
// Screenshots of each step, the extension's output channel (with the LSP trace) and
// result.json go to test-artifacts/vscode/.
//
// Usage: node test/e2e/run.js [path/to/torchwire-X.Y.Z.vsix]   (after `npm run package`)
// Needs what scripts/setup-vscode installs. Prints `RESULT: PASS` or `RESULT: FAIL` last.
'use strict';

const cp = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const EXT_DIR = path.resolve(__dirname, '..', '..');
const ROOT = path.resolve(EXT_DIR, '..');
const CACHE = process.env.TORCHWIRE_CACHE || path.join(ROOT, '.cache');
const ARTIFACTS = process.env.TORCHWIRE_ARTIFACTS || path.join(ROOT, 'test-artifacts', 'vscode');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SERVER = process.env.TORCHWIRE_SERVER || path.join(ROOT, '.venv', 'bin', 'torchwire');
const NODE_BIN = path.join(CACHE, 'node24', 'node_modules', `node-linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}`, 'bin');
const CODE_SERVER = path.join(CACHE, 'code-server', 'node_modules', '.bin', 'code-server');
const VERSION = JSON.parse(fs.readFileSync(path.join(EXT_DIR, 'package.json'), 'utf8')).version;
const VSIX = path.resolve(process.argv[2] || path.join(EXT_DIR, `torchwire-${VERSION}.vsix`));
const FILE = 'seed_1_discarded_outputs.py';
const NOTEBOOK = 'seed_1_notebook.ipynb';
const TIME_LIMIT_MS = Number(process.env.TORCHWIRE_E2E_TIMEOUT_MS || 240_000);

const t0 = Date.now();
const log = (...args) => console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s]`, ...args);
const checks = [];
function check(name, ok, detail = '') {
  checks.push({ name, ok: Boolean(ok), detail });
  log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  return Boolean(ok);
}

function missing() {
  const need = [
    [CHROMIUM, 'Debian chromium'],
    [path.join(NODE_BIN, 'node'), 'Node 24'],
    [CODE_SERVER, 'code-server'],
    [SERVER, 'the torchwire server'],
    [VSIX, 'the packaged extension (npm run package)'],
  ];
  const absent = need.filter(([file]) => !fs.existsSync(file)).map(([file, what]) => `${what} (${file})`);
  try {
    require.resolve('playwright-core', { paths: [EXT_DIR, ROOT] });
  } catch {
    absent.push('playwright-core (npm ci)');
  }
  return absent;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function healthy(port) {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => {
      request.destroy();
      resolve(false);
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function poll(what, fn, timeoutMs, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) {
      return last;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function copyTree(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (entry.name === '__pycache__') {
      continue;
    }
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      copyTree(source, target);
    } else if (entry.isFile()) {
      fs.copyFileSync(source, target);
    }
  }
}

/** The files under `dir` whose path matches `pattern` (for code-server's logs). */
function findFiles(dir, pattern, out = []) {
  if (!fs.existsSync(dir)) {
    return out;
  }
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      findFiles(full, pattern, out);
    } else if (pattern.test(full)) {
      out.push(full);
    }
  }
  return out;
}

const BASE_SETTINGS = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'chat.disableAIFeatures': true,
  'files.autoSave': 'off',
  'editor.minimap.enabled': false,
  'editor.lightbulb.enabled': 'on',
  'editor.hover.delay': 300,
  'window.restoreWindows': 'none',
  'editor.autoClosingBrackets': 'never',
  'editor.autoClosingQuotes': 'never',
  'editor.autoIndent': 'none',
  'editor.quickSuggestions': { other: false, comments: false, strings: false },
};

/** Starts code-server on a free port in its own process group; `stop` ends that group. */
async function startCodeServer(name, { tmp, extensionsDir, settings, env, folder }) {
  const dataDir = path.join(tmp, `${name}-data`);
  fs.mkdirSync(path.join(dataDir, 'User'), { recursive: true });
  const settingsFile = path.join(dataDir, 'User', 'settings.json');
  fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  const config = path.join(tmp, 'code-server.yaml');
  fs.writeFileSync(config, 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
  const port = await freePort();
  const out = fs.openSync(path.join(ARTIFACTS, `${name}.log`), 'w');
  const args = ['--user-data-dir', dataDir, '--extensions-dir', extensionsDir, '--config', config];
  const child = cp.spawn(
    CODE_SERVER,
    [...args, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', folder],
    { env, detached: true, stdio: ['ignore', out, out] }, // its own process group
  );
  const stop = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.on('exit', stop);
  await poll(`${name} /healthz`, () => healthy(port), 60_000, 200);
  log(`${name} is up on port ${port}`);
  const outputLog = () =>
    findFiles(path.join(dataDir, 'logs'), /(^|\/)[^/]*torchwire\.log$/)
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n');
  return { url: `http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`, dataDir, settingsFile, stop, outputLog };
}

async function openBrowser(tmp, name) {
  const { chromium } = require(require.resolve('playwright-core', { paths: [EXT_DIR, ROOT] }));
  return chromium.launchPersistentContext(path.join(tmp, `${name}-chromium`), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 860 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Runs `fn(page)` in a fresh browser on code-server; keeps its output channel as an artifact. */
async function session(name, options, fn) {
  let server;
  let browser;
  let page;
  try {
    server = await startCodeServer(name, options);
    browser = await openBrowser(options.tmp, name);
    page = browser.pages()[0] || (await browser.newPage());
    const consoleErrors = [];
    page.on('console', (message) => {
      if (message.type() === 'error') {
        consoleErrors.push(message.text().slice(0, 300));
      }
    });
    await page.goto(server.url);
    await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
    await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60_000 });
    log(`${name}: workbench loaded`);
    await fn(page, server);
    fs.writeFileSync(path.join(ARTIFACTS, `${name}-console-errors.txt`), consoleErrors.join('\n'));
  } catch (error) {
    if (page) {
      await page.screenshot({ path: path.join(ARTIFACTS, `${name}-failure.png`) }).catch(() => {});
    }
    check(`${name} completes`, false, String(error && error.stack ? error.stack : error).split('\n').slice(0, 4).join(' | '));
  } finally {
    if (browser) {
      await browser.close().catch(() => {});
    }
    if (server) {
      server.stop();
      fs.writeFileSync(path.join(ARTIFACTS, `${name}-output-torchwire.log`), server.outputLog());
    }
  }
}

async function main() {
  const absent = missing();
  if (absent.length > 0) {
    console.log(`MISSING: ${absent.join('; ')}`);
    console.log('Run scripts/setup-vscode, then npm run package.');
    console.log('RESULT: FAIL');
    return 2;
  }
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchwire-vscode-'));
  const workspace = path.join(tmp, 'examples');
  copyTree(path.join(ROOT, 'examples'), workspace);
  const seed = fs.readFileSync(path.join(workspace, FILE), 'utf8');
  fs.writeFileSync(path.join(workspace, NOTEBOOK), notebook(seed));
  const env = {
    ...process.env,
    PATH: `${NODE_BIN}${path.delimiter}${process.env.PATH}`,
    XDG_CONFIG_HOME: path.join(tmp, 'xdg', 'config'),
    XDG_DATA_HOME: path.join(tmp, 'xdg', 'data'),
    XDG_CACHE_HOME: path.join(tmp, 'xdg', 'cache'),
  };
  const extensionsDir = path.join(tmp, 'extensions');

  log(`installing ${path.relative(ROOT, VSIX)} into code-server`);
  const install = cp.spawnSync(CODE_SERVER, ['--user-data-dir', path.join(tmp, 'install-data'), '--extensions-dir', extensionsDir, '--install-extension', VSIX], {
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (!check('the .vsix installs into code-server', install.status === 0, install.status === 0 ? '' : `${install.stdout}\n${install.stderr}`)) {
    return 1;
  }

  // A user with the server: the repository's own, through torchwire.path.
  const settings = { ...BASE_SETTINGS, 'torchwire.path': SERVER, 'torchwire.ignore': ['TW9'], 'torchwire.trace.server': 'verbose' };
  let output = '';
  await session('vscode', { tmp, extensionsDir, settings, env, folder: workspace }, async (page, server) => {
    await userSession(page, server, path.join(workspace, FILE), seed);
    output = server.outputLog();
  });
  check('the extension started the repository server (torchwire.path)', output.includes(`starting ${SERVER} serve --stdio`), path.relative(ROOT, SERVER));
  check(
    'initializationOptions carry the torchwire settings',
    /"initializationOptions":\s*\{\s*"torchwire":\s*\{\s*"select":\s*null,\s*"ignore":\s*\[\s*"TW9"\s*\]/.test(output),
    (output.match(/"initializationOptions":[^}]*\}/) || ['(not in the trace)'])[0].replace(/\s+/g, ' '),
  );
  check(
    'a settings change reaches the server (workspace/didChangeConfiguration)',
    /didChangeConfiguration[\s\S]*"TW101":\s*"error"/.test(output),
    '',
  );

  // A user without it: python3 does not have torchwire, nothing on PATH, no torchwire.path.
  const fakeBin = path.join(tmp, 'no-torchwire-bin');
  fs.mkdirSync(fakeBin);
  fs.writeFileSync(path.join(fakeBin, 'python3'), '#!/bin/sh\necho "/usr/bin/python3: No module named torchwire" >&2\nexit 1\n', { mode: 0o755 });
  const bareEnv = { ...env, PATH: [fakeBin, NODE_BIN, '/usr/bin', '/bin'].join(path.delimiter) };
  await session('vscode-not-installed', { tmp, extensionsDir, settings: BASE_SETTINGS, env: bareEnv, folder: workspace }, async (page, server) => {
    await notInstalledSession(page, server);
  });

  const failed = checks.filter((c) => !c.ok);
  fs.writeFileSync(path.join(ARTIFACTS, 'result.json'), JSON.stringify({ passed: failed.length === 0, seconds: (Date.now() - t0) / 1000, checks }, null, 2));
  fs.rmSync(tmp, { recursive: true, force: true });
  log(`${checks.length - failed.length} passed, ${failed.length} failed`);
  return failed.length === 0 ? 0 : 1;
}

/** A one-cell Jupyter notebook with the seed's code. */
function notebook(source) {
  const code = source.slice(source.indexOf('import torch')).split('if __name__')[0].trimEnd();
  return JSON.stringify(
    {
      cells: [{ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: code.split('\n').map((line, i, all) => (i < all.length - 1 ? `${line}\n` : line)) }],
      metadata: { kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' }, language_info: { name: 'python' } },
      nbformat: 4,
      nbformat_minor: 5,
    },
    null,
    1,
  );
}

const shot = async (page, name) => {
  await page.waitForTimeout(400); // let hovers and menus finish fading in
  await page.screenshot({ path: path.join(ARTIFACTS, name) });
  log(`screenshot ${name}`);
};

async function userSession(page, server, target, original) {
  // Open the file from the explorer, as a user would.
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: FILE }).first().click();
  const editor = page.locator('.editor-instance .monaco-editor').first();
  await editor.locator('.view-lines').waitFor({ timeout: 30_000 });
  log(`${FILE} is open`);

  // ---- 1. the TW101 squiggle and its Problems panel entry
  const squiggle = editor.locator('.squiggly-warning');
  await squiggle.first().waitFor({ timeout: 90_000 });
  check('1. a warning squiggle appears', (await squiggle.count()) === 1, `${await squiggle.count()} squiggle(s)`);
  await editor.locator('.view-lines').click();
  await page.keyboard.press('Control+Shift+M');
  const problems = page.locator('.markers-panel');
  const row = problems.locator('.monaco-list-row', { hasText: 'TW101' });
  await row.first().waitFor({ timeout: 30_000 });
  const rowText = (await row.first().innerText()).replace(/\s+/g, ' ');
  check('1. the Problems panel lists TW101 at line 18', /torchwire\W*TW101/.test(rowText) && rowText.includes('[Ln 18, Col 13]'), rowText.slice(-60));
  check('1. with its message', rowText.includes('The output of `layer(x)` is thrown away'), '');
  check('1. and a warning icon', (await row.first().locator('.codicon-warning').count()) === 1, '');
  const box = await squiggle.first().boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const diagnosticHover = page.locator('.monaco-hover', { hasText: 'thrown away' }).first();
  await diagnosticHover.waitFor({ timeout: 10_000 });
  check('1. the squiggle\'s hover shows the message', (await diagnosticHover.innerText()).includes('The output of `layer(x)` is thrown away'), '');
  await shot(page, '1-diagnostic.png');
  await page.mouse.move(5, 5);
  await page.keyboard.press('Escape');

  // ---- 2. the hover on `self.layers` (line 14): the parameter table
  await goTo(page, editor, 14, 14);
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+I');
  const hover = page.locator('.monaco-hover', { hasText: 'parameters' });
  await hover.first().waitFor({ timeout: 30_000 });
  const hoverText = (await hover.first().innerText()).replace(/\s+/g, ' ');
  check('2. the hover on self.layers shows "430 parameters"', hoverText.includes('self.layers: nn.ModuleList, 3 modules, 430 parameters'), hoverText.slice(0, 90));
  check('2. and the parameter table', /layers\.0\.weight\s*\[20, 10\]\s*200/.test(hoverText) && /layers\.2\.bias\s*\[10\]\s*10/.test(hoverText), '');
  await shot(page, '2-hover.png');
  await page.keyboard.press('Escape');

  // ---- 3. the quick fix, from the lightbulb (Ctrl+. when no lightbulb shows)
  await goTo(page, editor, 18, 13);
  const lightbulb = page.locator('.lightBulbWidget .codicon, .codicon-light-bulb, .codicon-lightbulb-autofix').first();
  let opened = 'lightbulb';
  try {
    await lightbulb.waitFor({ state: 'visible', timeout: 15_000 });
    await lightbulb.click();
    await page.locator('.action-widget .monaco-list-row').first().waitFor({ timeout: 5_000 });
  } catch {
    opened = 'Ctrl+.';
    await page.keyboard.press('Control+.');
  }
  const title = 'Assign the output: `x = layer(x)` (unsafe)';
  const action = page.locator('.action-widget .monaco-list-row', { hasText: 'Assign the output' });
  await action.first().waitFor({ timeout: 30_000 });
  const menu = (await page.locator('.action-widget').first().innerText()).replace(/\s+/g, ' ');
  check(`3. the quick fix menu (opened from the ${opened}) offers the fix`, menu.includes(title), menu.slice(0, 200));
  await action.first().hover();
  await shot(page, '3-quickfix.png');
  await page.screenshot({ path: path.join(ARTIFACTS, 'readme.png'), clip: { x: 352, y: 36, width: 1048, height: 620 } });
  await action.first().click();
  await poll('the edit in the editor', async () => (await editor.locator('.view-line', { hasText: 'x = layer(x)' }).count()) > 0, 20_000);
  await page.keyboard.press('Control+S');
  const expected = original.replace('            layer(x)\n', '            x = layer(x)\n');
  let saved = '';
  await poll('the saved file', () => (saved = fs.readFileSync(target, 'utf8')) === expected, 15_000).catch(() => {});
  check('3. the file on disk has `x = layer(x)` (and nothing else changed)', saved === expected, saved === expected ? '' : saved.split('\n').slice(16, 19).join(' / '));
  const gone = await poll(
    'the diagnostic to go',
    async () => (await squiggle.count()) === 0 && (await problems.locator('.monaco-list-row', { hasText: 'TW101' }).count()) === 0,
    20_000,
  ).catch(() => false);
  check('3. the squiggle and the Problems entry are gone', gone, (await problems.innerText()).replace(/\s+/g, ' ').slice(0, 120));
  await shot(page, '4-fixed.png');

  // ---- 4. a settings change reaches the server: TW101 as an error
  await editor.locator('.view-lines').click();
  await page.keyboard.press('Control+Z'); // back to `layer(x)`
  await squiggle.first().waitFor({ timeout: 20_000 });
  const settings = JSON.parse(fs.readFileSync(server.settingsFile, 'utf8'));
  await editUserSettings(page, server.settingsFile, { ...settings, 'torchwire.severity': { TW101: 'error' } });
  const errorRow = problems.locator('.monaco-list-row', { hasText: 'TW101' }).first();
  const asError = await poll('TW101 as an error', async () => (await errorRow.locator('.codicon-error').count()) === 1, 30_000).catch(() => false);
  await page.locator('.tabs-container .tab', { hasText: FILE }).first().click();
  const errorSquiggle = await editor
    .locator('.squiggly-error')
    .first()
    .waitFor({ timeout: 10_000 })
    .then(() => true)
    .catch(() => false);
  check('4. torchwire.severity {"TW101": "error"} turns the Problems entry and the squiggle into an error', asError && errorSquiggle, `problems: ${asError}, squiggle: ${errorSquiggle}`);
  await shot(page, '5-severity.png');

  // ---- 5. a Jupyter notebook's Python cell
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: NOTEBOOK }).first().click();
  const cell = page.locator('.notebook-editor .cell-editor-container .monaco-editor').first();
  const cellSquiggle = cell.locator('.squiggly-error, .squiggly-warning');
  const inCell = await cellSquiggle
    .first()
    .waitFor({ timeout: 30_000 })
    .then(() => true)
    .catch(() => false);
  const notebookRow = await poll('the notebook in the Problems panel', async () => (await problems.locator('.monaco-list-row', { hasText: NOTEBOOK }).count()) === 1, 10_000).catch(() => false);
  check('5. a notebook cell gets the TW101 squiggle and a Problems entry', inCell && notebookRow, `squiggle: ${inCell}, Problems: ${notebookRow}`);
  await shot(page, '6-notebook.png');
}

async function notInstalledSession(page, server) {
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: FILE }).first().click();
  const toasts = page.locator('.notifications-toasts .notification-toast', { hasText: 'torchwire' });
  await toasts.first().waitFor({ timeout: 60_000 });
  await page.waitForTimeout(3000); // would a second one come?
  const text = (await toasts.first().innerText()).replace(/\s+/g, ' ');
  check('6. no server: one notification', (await toasts.count()) === 1, `${await toasts.count()} toast(s)`);
  check(
    '6. which says what to install, with no stack trace',
    text.includes('pip install torchwire') && text.includes('Copy Install Command') && !/\bat \S+ \(|Traceback|Error:/.test(text),
    text.slice(0, 220),
  );
  const status = page.locator('.statusbar-item', { hasText: 'torchwire' });
  check('6. the status bar shows torchwire failed', (await status.count()) === 1 && (await status.first().locator('.codicon-error').count()) === 1, '');
  await shot(page, '7-not-installed.png');
  // The restart command is there, and tries again.
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').fill('>torchwire: Restart Server');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Restart Server' }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  const retried = await poll('the restart', () => server.outputLog().includes('finding the torchwire server (command)'), 15_000).catch(() => false);
  check('6. torchwire: Restart Server looks for the server again', retried, '');
}

/** Replaces the user settings through the settings.json editor, as a user would. */
async function editUserSettings(page, file, values) {
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').fill('>Preferences: Open User Settings (JSON)');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open User Settings (JSON)' }).first().click();
  // VS Code 1.139 opens it in a modal editor, earlier versions in a tab.
  const editor = page.locator('.monaco-editor', { hasText: '"torchwire.path"' }).last();
  await editor.locator('.view-lines').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(JSON.stringify(values, null, 2));
  await page.keyboard.press('Control+Shift+End'); // whatever the editor closed by itself
  await page.keyboard.press('Delete');
  await page.keyboard.press('Control+S');
  const wanted = JSON.stringify(values);
  await poll('the saved settings', () => {
    try {
      return JSON.stringify(JSON.parse(fs.readFileSync(file, 'utf8'))) === wanted;
    } catch {
      return false;
    }
  }, 10_000);
  await page.keyboard.press('Escape');
}

/** Puts the cursor at 1-based line:column with Go to Line (Ctrl+G). */
async function goTo(page, editor, line, column) {
  await editor.locator('.view-lines').click();
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(`:${line}:${column}`);
  await page.keyboard.press('Enter');
  await poll(
    `the cursor at ${line}:${column}`,
    async () => {
      const status = await page.locator('#status\\.editor\\.selection').innerText().catch(() => '');
      return status.includes(`Ln ${line}, Col ${column}`);
    },
    5_000,
  );
}

const watchdog = setTimeout(() => {
  log(`time limit of ${TIME_LIMIT_MS / 1000} s reached`);
  console.log('RESULT: FAIL');
  process.exit(1);
}, TIME_LIMIT_MS);

main()
  .then((code) => {
    clearTimeout(watchdog);
    console.log(code === 0 ? 'RESULT: PASS' : 'RESULT: FAIL');
    process.exit(code);
  })
  .catch((error) => {
    clearTimeout(watchdog);
    console.error(error);
    console.log('RESULT: FAIL');
    process.exit(1);
  });
