/**
 * Finding the torchwire language server, as a function of what it is given: the `torchwire.path`
 * setting, the interpreter the Python extension selected, the platform, and `probe`, which runs a
 * command and captures its output. The extension passes the real machine; the unit tests pass
 * fakes. Nothing here imports `vscode`.
 *
 * Order, as in Python tool extensions:
 *   1. `torchwire.path` when set: the only candidate (a wrong setting is reported, not bypassed);
 *   2. `<interpreter> -m torchwire` for the interpreter selected in the Python extension;
 *   3. `python3 -m torchwire` (`python` on Windows);
 *   4. `torchwire` on PATH (pipx and similar installs).
 * Each candidate is tried with `--version`; the first that answers `torchwire X.Y.Z` is started
 * with `serve` (the language client adds `--stdio`).
 */

import * as path from 'path';

export type Origin = 'setting' | 'interpreter' | 'python' | 'path';

/** One way to run torchwire's command line: `command ...args` (then `--version` or `serve`). */
export interface Candidate {
  command: string;
  args: string[];
  origin: Origin;
}

export interface DiscoveryInput {
  /** The `torchwire.path` setting as VS Code returns it (any JSON value). */
  setting: unknown;
  /** The Python executable the Python extension selected, if it is installed and said so. */
  interpreter?: string;
  /** The first workspace folder: `${workspaceFolder}` and relative paths resolve against it. */
  workspaceFolder?: string;
  /** The user's home folder, for `~` and `${userHome}`. */
  home?: string;
  /** `process.platform`. */
  platform: string;
  /** Environment variables, for `${env:NAME}`. */
  env?: Record<string, string | undefined>;
}

export interface ProbeResult {
  /** The exit code, or null when the process did not run or was killed. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** A spawn error code (`ENOENT`, `EACCES`, ...) or `timeout`. */
  error?: string;
}

export type Probe = (command: string, args: string[]) => Promise<ProbeResult>;

export interface Attempt {
  candidate: Candidate;
  version?: string;
  problem?: string;
}

export type Discovery =
  | {
      found: true;
      /** The server's command line, without the `--stdio` the language client appends. */
      server: { command: string; args: string[] };
      candidate: Candidate;
      version: string;
      attempts: Attempt[];
    }
  | {
      found: false;
      attempts: Attempt[];
      /** One paragraph for the user, with the command that installs torchwire. */
      message: string;
      installCommand: string;
    };

export const INSTALL = 'pip install torchwire';

const PYTHON = /^(python|pythonw|py)(\d+(\.\d+)*)?(\.exe)?$/i;

function pathApi(platform: string): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** Is this executable a Python interpreter (so torchwire runs as `-m torchwire`)? */
export function isPython(command: string, platform: string): boolean {
  return PYTHON.test(pathApi(platform).basename(command));
}

/** Expands `~`, `${userHome}`, `${workspaceFolder}` and `${env:NAME}`; resolves a relative
 * path (one with a separator, like `.venv/bin/torchwire`) against the workspace folder. A bare
 * name (`torchwire`, `python3`) is left for the system to find on PATH. */
export function expandCommand(command: string, input: DiscoveryInput): string {
  const p = pathApi(input.platform);
  let out = command.trim();
  if (input.home !== undefined) {
    out = out.replace(/\$\{userHome\}/g, input.home);
    if (out === '~') {
      out = input.home;
    } else if (out.startsWith('~/') || (input.platform === 'win32' && out.startsWith('~\\'))) {
      out = p.join(input.home, out.slice(2));
    }
  }
  if (input.workspaceFolder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, input.workspaceFolder);
  }
  out = out.replace(/\$\{env:([^}]+)\}/g, (_, name: string) => input.env?.[name] ?? '');
  const hasSeparator = out.includes('/') || (input.platform === 'win32' && out.includes('\\'));
  if (hasSeparator && !p.isAbsolute(out) && input.workspaceFolder !== undefined) {
    out = p.resolve(input.workspaceFolder, out);
  }
  return out;
}

/** The candidate the `torchwire.path` setting names: undefined when it is unset (empty);
 * a problem when it is not a string or an array of strings. */
export function fromSetting(input: DiscoveryInput): { candidate?: Candidate; problem?: string } {
  const setting = input.setting;
  if (setting === undefined || setting === null || setting === '' || (Array.isArray(setting) && setting.length === 0)) {
    return {};
  }
  let parts: string[];
  if (typeof setting === 'string') {
    parts = [setting];
  } else if (Array.isArray(setting) && setting.every((item) => typeof item === 'string')) {
    parts = [...(setting as string[])];
  } else {
    return { problem: `the torchwire.path setting must be a path or an array of strings, not ${JSON.stringify(setting)}` };
  }
  if (parts[0].trim() === '') {
    return { problem: 'the torchwire.path setting starts with an empty command' };
  }
  // The extension adds `serve --stdio` itself: accept a command that already says so.
  while (parts.length > 1 && ['serve', '--stdio'].includes(parts[parts.length - 1])) {
    parts.pop();
  }
  const command = expandCommand(parts[0], input);
  let args = parts.slice(1).map((arg) => expandCommand(arg, { ...input, workspaceFolder: undefined }));
  if (args.length === 0 && isPython(command, input.platform)) {
    args = ['-m', 'torchwire'];
  }
  return { candidate: { command, args, origin: 'setting' } };
}

/** The candidates to try, in order (the setting alone when it is set). */
export function candidates(input: DiscoveryInput): { list: Candidate[]; problem?: string } {
  const setting = fromSetting(input);
  if (setting.problem !== undefined) {
    return { list: [], problem: setting.problem };
  }
  if (setting.candidate !== undefined) {
    return { list: [setting.candidate] };
  }
  const list: Candidate[] = [];
  if (input.interpreter) {
    list.push({ command: input.interpreter, args: ['-m', 'torchwire'], origin: 'interpreter' });
  }
  list.push({ command: defaultPython(input.platform), args: ['-m', 'torchwire'], origin: 'python' });
  list.push({ command: 'torchwire', args: [], origin: 'path' });
  const seen = new Set<string>();
  return {
    list: list.filter((c) => {
      const key = JSON.stringify([c.command, c.args]);
      return seen.has(key) ? false : (seen.add(key), true);
    }),
  };
}

export function defaultPython(platform: string): string {
  return platform === 'win32' ? 'python' : 'python3';
}

/** The command line as a person would type it (for messages and the log). */
export function commandLine(command: string, args: string[]): string {
  const quote = (s: string) => (/^[\w@%+=:,./\\-]+$/.test(s) ? s : `"${s.replace(/(["\\$`])/g, '\\$1')}"`);
  return [command, ...args].map(quote).join(' ');
}

/** What a `--version` run says: torchwire's version, or why this candidate cannot serve. */
export function readVersion(candidate: Candidate, result: ProbeResult): { version?: string; problem?: string } {
  const match = /^torchwire (\S+)/m.exec(result.stdout);
  if (result.exitCode === 0 && match) {
    return { version: match[1] };
  }
  if (result.error === 'ENOENT') {
    return { problem: `${candidate.command} was not found` };
  }
  if (result.error === 'EACCES') {
    return { problem: `${candidate.command} is not executable` };
  }
  if (result.error === 'timeout') {
    return { problem: `${commandLine(candidate.command, [...candidate.args, '--version'])} did not answer in time` };
  }
  if (result.error !== undefined) {
    return { problem: `${candidate.command} could not be started (${result.error})` };
  }
  if (/No module named '?torchwire'?/.test(result.stderr)) {
    return { problem: `torchwire is not installed for ${candidate.command}` };
  }
  const said = lastLine(result.stderr) || lastLine(result.stdout);
  if (result.exitCode !== 0) {
    return { problem: `${commandLine(candidate.command, [...candidate.args, '--version'])} exited with code ${result.exitCode}${said ? `: ${said}` : ''}` };
  }
  return { problem: `${commandLine(candidate.command, candidate.args)} is not torchwire (\`--version\` printed ${JSON.stringify(said)})` };
}

function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  const line = lines.length > 0 ? lines[lines.length - 1] : '';
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

/** The command that installs torchwire where the extension looks first. */
export function installCommand(input: DiscoveryInput): string {
  return input.interpreter ? `${commandLine(input.interpreter, ['-m', 'pip', 'install', 'torchwire'])}` : INSTALL;
}

/** Tries the candidates in order and returns the first that works, or one message that says
 * what was tried and how to install torchwire. */
export async function discover(input: DiscoveryInput, probe: Probe): Promise<Discovery> {
  const { list, problem } = candidates(input);
  const install = installCommand(input);
  if (problem !== undefined) {
    return { found: false, attempts: [], installCommand: install, message: `torchwire: ${problem}.` };
  }
  const attempts: Attempt[] = [];
  for (const candidate of list) {
    let result: ProbeResult;
    try {
      result = await probe(candidate.command, [...candidate.args, '--version']);
    } catch (error) {
      result = { exitCode: null, stdout: '', stderr: String(error), error: 'failed' };
    }
    const attempt: Attempt = { candidate, ...readVersion(candidate, result) };
    attempts.push(attempt);
    if (attempt.version !== undefined) {
      return {
        found: true,
        server: { command: candidate.command, args: [...candidate.args, 'serve'] },
        candidate,
        version: attempt.version,
        attempts,
      };
    }
  }
  return { found: false, attempts, installCommand: install, message: failureMessage(input, attempts, install) };
}

function failureMessage(input: DiscoveryInput, attempts: Attempt[], install: string): string {
  const [first] = attempts;
  if (first !== undefined && first.candidate.origin === 'setting') {
    const hint =
      typeof input.setting === 'string' && /\s-/.test(input.setting) && !first.version
        ? ' (a command with arguments goes in an array: ["python3", "-m", "torchwire"])'
        : '';
    return `torchwire: the torchwire.path setting does not run torchwire: ${first.problem}${hint}. Fix the setting, or install torchwire: ${install}`;
  }
  const where = input.interpreter ? `the selected Python interpreter (${input.interpreter})` : defaultPython(input.platform);
  return `torchwire: the language server was not found in ${where}, nor on PATH. Set torchwire.path, or install it: ${install}`;
}
