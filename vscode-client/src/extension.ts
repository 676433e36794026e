/**
 * The torchwire extension: finds the torchwire language server (see `discovery.ts`), starts it
 * with vscode-languageclient, and keeps its settings in step. All analysis happens in the server.
 */

import * as cp from 'child_process';
import * as os from 'os';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';

import { DataflowPanel } from './dataflow';
import { commandLine, discover, Discovery, DiscoveryInput, ProbeResult } from './discovery';
import { serverSettings, ServerSettings } from './settings';

const SECTION = 'torchwire';
const PYTHON_EXTENSION = 'ms-python.python';
const PROBE_TIMEOUT_MS = 30_000;

let controller: Controller | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  controller = new Controller(context);
  await controller.restart('activation');
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}

class Controller {
  private readonly output: vscode.LogOutputChannel;
  private readonly trace: TraceChannel;
  private readonly status: vscode.StatusBarItem;
  private readonly pyprojects: vscode.FileSystemWatcher;
  private client: LanguageClient | undefined;
  private queue: Promise<void> = Promise.resolve();
  private stopping = false;
  private lastFailure: string | undefined;
  /** The interpreter selected in the Python extension: the server resolves imports in its packages. */
  private interpreter: string | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('torchwire', { log: true });
    this.trace = new TraceChannel(this.output);
    this.status = vscode.window.createStatusBarItem('torchwire.status', vscode.StatusBarAlignment.Left, 10);
    this.status.name = 'torchwire';
    this.pyprojects = vscode.workspace.createFileSystemWatcher('**/pyproject.toml');
    context.subscriptions.push(
      this.pyprojects,
      this.output,
      this.trace,
      this.status,
      vscode.commands.registerCommand('torchwire.restart', () => this.restart('command', true)),
      vscode.commands.registerCommand('torchwire.showOutput', () => this.output.show()),
      // A code lens's click: the server gives the page, shown as a Markdown preview.
      vscode.commands.registerCommand('torchwire.showParameters', (uri: string, name: string, attribute: string | null) =>
        this.showParameters(uri, name, attribute),
      ),
      // From a code lens (one class), or the command palette (every class of the active file).
      vscode.commands.registerCommand('torchwire.showDataflow', (uri?: string, name?: string) => {
        const target = uri ?? vscode.window.activeTextEditor?.document.uri.toString();
        if (target !== undefined) {
          DataflowPanel.show(this.context.extensionUri, () => this.client, target, name ?? null);
        }
      }),
      vscode.workspace.onDidChangeConfiguration((event) => this.configurationChanged(event)),
    );
    void this.watchPythonInterpreter();
  }

  private async showParameters(uri: string, name: string, attribute: string | null): Promise<void> {
    const client = this.client;
    if (client === undefined) {
      return;
    }
    const page = (await client.sendRequest(ExecuteCommandRequest.type, {
      command: 'torchwire.parameterTable',
      arguments: [uri, name, attribute],
    })) as { title: string; markdown: string } | null;
    if (page === null || page === undefined) {
      void vscode.window.showInformationMessage(`torchwire: ${name} is no longer in this file.`);
      return;
    }
    const document = await vscode.workspace.openTextDocument({ language: 'markdown', content: page.markdown });
    await vscode.commands.executeCommand('markdown.showPreview', document.uri);
  }

  /** Stops the running server, if any, then finds and starts one. Calls are queued. */
  restart(reason: string, explicit = false): Promise<void> {
    this.queue = this.queue.then(() => this.doRestart(reason, explicit)).catch((error) => {
      this.output.error(`restart failed: ${String(error)}`);
    });
    return this.queue;
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      this.stopping = true;
      try {
        await client.stop(5000);
      } catch (error) {
        this.output.warn(`stopping the server: ${String(error)}`);
      } finally {
        this.stopping = false;
      }
    }
  }

  private async doRestart(reason: string, explicit: boolean): Promise<void> {
    await this.stop();
    this.showStatus('starting');
    this.output.info(`finding the torchwire server (${reason})`);
    const input = await this.discoveryInput();
    this.interpreter = input.interpreter;
    const found = await discover(input, probe);
    for (const attempt of found.attempts) {
      const line = commandLine(attempt.candidate.command, attempt.candidate.args);
      if (attempt.version !== undefined) {
        this.output.info(`  ${line} (${attempt.candidate.origin}): torchwire ${attempt.version}`);
      } else {
        this.output.info(`  ${line} (${attempt.candidate.origin}): ${attempt.problem}`);
      }
    }
    if (!found.found) {
      this.fail(found, explicit);
      return;
    }
    this.lastFailure = undefined;
    await this.start(found);
  }

  private async start(found: Extract<Discovery, { found: true }>): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const serverOptions: ServerOptions = {
      command: found.server.command,
      args: found.server.args,
      transport: TransportKind.stdio, // the client appends `--stdio`
      options: { cwd: folder, env: { ...process.env, PYTHONUNBUFFERED: '1' } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: 'file', language: 'python' },
        { scheme: 'untitled', language: 'python' },
        // Jupyter notebooks' Python cells: the server asks for LSP notebook sync (the client then
        // sends whole notebooks, read as one program); this routes hovers and fixes in cells.
        { scheme: 'vscode-notebook-cell', language: 'python' },
      ],
      outputChannel: this.output,
      traceOutputChannel: this.trace,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: { [SECTION]: this.settingsForServer() },
      synchronize: {
        fileEvents: this.pyprojects, // [tool.torchwire] tables
      },
      middleware: {
        workspace: {
          // The server may ask for its section: answer with the checked settings.
          configuration: async (params, token, next) => {
            const answers = await next(params, token);
            if (!Array.isArray(answers)) {
              return answers;
            }
            return params.items.map((item, index) => (item.section === SECTION ? this.settingsForServer() : answers[index]));
          },
        },
      },
    };
    const client = new LanguageClient(SECTION, 'torchwire', serverOptions, clientOptions);
    client.onDidChangeState((event) => {
      if (this.client !== client || this.stopping) {
        return;
      }
      if (event.newState === State.Running) {
        this.showStatus('running');
      } else if (event.newState === State.Starting) {
        this.showStatus('starting');
      } else {
        this.showStatus('failed', 'the torchwire server stopped: see the output');
      }
    });
    this.client = client;
    this.output.info(`starting ${commandLine(found.server.command, [...found.server.args, '--stdio'])}`);
    try {
      await client.start();
    } catch (error) {
      this.output.error(`the torchwire server did not start: ${String(error)}`);
      this.showStatus('failed', 'the torchwire server did not start: see the output');
      return;
    }
    this.output.info(`torchwire ${found.version} is running`);
    this.showStatus('running');
  }

  private fail(found: Extract<Discovery, { found: false }>, explicit: boolean): void {
    this.output.error(found.message);
    this.showStatus('failed', found.message);
    // One notification per distinct problem, unless the user asked for the restart.
    if (!explicit && this.lastFailure === found.message) {
      return;
    }
    this.lastFailure = found.message;
    const copy = 'Copy Install Command';
    const settings = 'Open Settings';
    const log = 'Show Output';
    void vscode.window.showErrorMessage(found.message, copy, settings, log).then(async (choice) => {
      if (choice === copy) {
        await vscode.env.clipboard.writeText(found.installCommand);
      } else if (choice === settings) {
        await vscode.commands.executeCommand('workbench.action.openSettings', 'torchwire.path');
      } else if (choice === log) {
        this.output.show();
      }
    });
  }

  private showStatus(state: 'starting' | 'running' | 'failed', detail?: string): void {
    if (state === 'running') {
      this.status.hide();
      return;
    }
    if (state === 'starting') {
      this.status.text = '$(loading~spin) torchwire';
      this.status.tooltip = 'torchwire: starting the language server';
      this.status.backgroundColor = undefined;
      this.status.command = 'torchwire.showOutput';
    } else {
      this.status.text = '$(error) torchwire';
      this.status.tooltip = `${detail ?? 'torchwire is not running'}\n\nClick to show the output; run "torchwire: Restart Server" to try again.`;
      this.status.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      this.status.command = 'torchwire.showOutput';
    }
    this.status.show();
  }

  private configurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (event.affectsConfiguration(`${SECTION}.trace.server`)) {
      this.trace.settingChanged();
    }
    if (event.affectsConfiguration(`${SECTION}.path`)) {
      void this.restart('torchwire.path changed');
      return;
    }
    if (event.affectsConfiguration(SECTION) && this.client?.isRunning()) {
      void this.client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: { [SECTION]: this.settingsForServer() },
      });
    }
  }

  /** The settings, and the interpreter whose installed packages the server looks into. */
  private settingsForServer(): ServerSettings {
    return this.interpreter !== undefined ? { ...currentSettings(), python: this.interpreter } : currentSettings();
  }

  private async discoveryInput(): Promise<DiscoveryInput> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    return {
      setting: vscode.workspace.getConfiguration(SECTION, folder).get('path'),
      interpreter: await this.pythonInterpreter(folder?.uri),
      workspaceFolder: folder?.uri.fsPath,
      home: os.homedir(),
      platform: process.platform,
      env: process.env,
    };
  }

  /** The interpreter selected in the Python extension, when it is installed (not required). */
  private async pythonInterpreter(resource: vscode.Uri | undefined): Promise<string | undefined> {
    const api = await pythonApi(this.output);
    if (api === undefined) {
      return undefined;
    }
    try {
      const environments = api.environments;
      if (environments?.getActiveEnvironmentPath !== undefined) {
        const active = environments.getActiveEnvironmentPath(resource);
        const resolved = environments.resolveEnvironment !== undefined ? await withTimeout(environments.resolveEnvironment(active), 15_000) : undefined;
        const executable = resolved?.executable?.uri?.fsPath ?? active?.path;
        if (executable) {
          return executable;
        }
      }
      const command = api.settings?.getExecutionDetails?.(resource)?.execCommand;
      if (Array.isArray(command) && command.length === 1 && typeof command[0] === 'string') {
        return command[0];
      }
    } catch (error) {
      this.output.warn(`the Python extension did not say which interpreter is selected: ${String(error)}`);
    }
    return undefined;
  }

  private async watchPythonInterpreter(): Promise<void> {
    const api = await pythonApi(this.output);
    const event = api?.environments?.onDidChangeActiveEnvironmentPath;
    if (typeof event !== 'function') {
      return;
    }
    this.context.subscriptions.push(
      event(() => {
        const setting = vscode.workspace.getConfiguration(SECTION).get('path');
        if (setting === undefined || setting === '' || (Array.isArray(setting) && setting.length === 0)) {
          void this.restart('the selected Python interpreter changed');
        }
      }),
    );
  }
}

/**
 * The channel the language client writes the protocol trace to. vscode-languageclient 11 traces
 * only when the channel's log level is Trace; this one says Trace whenever `torchwire.trace.server`
 * is not "off", so the setting works as its description says, and writes into the torchwire
 * output channel.
 */
class TraceChannel implements vscode.LogOutputChannel {
  private readonly emitter = new vscode.EventEmitter<vscode.LogLevel>();
  private readonly forward: vscode.Disposable;
  readonly onDidChangeLogLevel = this.emitter.event;

  constructor(private readonly out: vscode.LogOutputChannel) {
    this.forward = out.onDidChangeLogLevel(() => this.emitter.fire(this.logLevel));
  }

  get name(): string {
    return this.out.name;
  }

  get logLevel(): vscode.LogLevel {
    const setting = vscode.workspace.getConfiguration(SECTION).get<string>('trace.server', 'off');
    return setting !== 'off' ? vscode.LogLevel.Trace : this.out.logLevel;
  }

  settingChanged(): void {
    this.emitter.fire(this.logLevel);
  }

  trace(message: string, ...args: unknown[]): void {
    this.out.info(message, ...args);
  }
  debug(message: string, ...args: unknown[]): void {
    this.out.debug(message, ...args);
  }
  info(message: string, ...args: unknown[]): void {
    this.out.info(message, ...args);
  }
  warn(message: string, ...args: unknown[]): void {
    this.out.warn(message, ...args);
  }
  error(error: string | Error, ...args: unknown[]): void {
    this.out.error(error, ...args);
  }
  append(value: string): void {
    this.out.append(value);
  }
  appendLine(value: string): void {
    this.out.appendLine(value);
  }
  replace(value: string): void {
    this.out.replace(value);
  }
  clear(): void {
    this.out.clear();
  }
  show(columnOrPreserveFocus?: vscode.ViewColumn | boolean, preserveFocus?: boolean): void {
    if (typeof columnOrPreserveFocus === 'boolean' || columnOrPreserveFocus === undefined) {
      this.out.show(columnOrPreserveFocus);
    } else {
      this.out.show(columnOrPreserveFocus, preserveFocus);
    }
  }
  hide(): void {
    this.out.hide();
  }
  dispose(): void {
    this.forward.dispose();
    this.emitter.dispose();
  }
}

function currentSettings(): ServerSettings {
  const config = vscode.workspace.getConfiguration(SECTION, vscode.workspace.workspaceFolders?.[0]);
  return serverSettings((key) => config.get(key));
}

/** The parts of the Python extension's API that are used (all optional: versions differ). */
interface PythonApi {
  environments?: {
    getActiveEnvironmentPath?(resource?: vscode.Uri): { id: string; path: string } | undefined;
    resolveEnvironment?(environment: unknown): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
  };
  settings?: {
    getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] } | undefined;
  };
}

let pythonApiPromise: Promise<PythonApi | undefined> | undefined;

function pythonApi(output: vscode.LogOutputChannel): Promise<PythonApi | undefined> {
  pythonApiPromise ??= (async () => {
    const extension = vscode.extensions.getExtension<PythonApi>(PYTHON_EXTENSION);
    if (extension === undefined) {
      return undefined;
    }
    try {
      return extension.isActive ? extension.exports : await withTimeout(extension.activate(), 30_000);
    } catch (error) {
      output.warn(`the Python extension did not activate: ${String(error)}`);
      return undefined;
    }
  })();
  return pythonApiPromise;
}

function withTimeout<T>(promise: Thenable<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Runs `command args` and captures what it prints (the real machine for `discover`). */
function probe(command: string, args: string[]): Promise<ProbeResult> {
  return new Promise((resolve) => {
    cp.execFile(
      command,
      args,
      { timeout: PROBE_TIMEOUT_MS, windowsHide: true, encoding: 'utf8', maxBuffer: 1 << 20, cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ exitCode: 0, stdout, stderr });
          return;
        }
        const failure = error as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
        if (typeof failure.code === 'string') {
          resolve({ exitCode: null, stdout, stderr, error: failure.code });
        } else if (failure.killed) {
          resolve({ exitCode: null, stdout, stderr, error: 'timeout' });
        } else {
          resolve({ exitCode: typeof failure.code === 'number' ? failure.code : null, stdout, stderr });
        }
      },
    );
  });
}
