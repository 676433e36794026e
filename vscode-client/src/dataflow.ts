/**
 * "torchwire: Show Dataflow": forward()'s dataflow, as the server draws it (Mermaid text), shown
 * in a webview by the Mermaid library bundled with the extension (dist/mermaid.min.js). It
 * follows the editor's theme and is drawn again as the document changes.
 */

import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient } from 'vscode-languageclient/node';

const REDRAW_AFTER_MS = 400; // after the last keystroke

interface Drawn {
  class: string;
  mermaid: string;
}

export class DataflowPanel {
  private static current: DataflowPanel | undefined;
  private readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ready = false;
  private last: { graphs: Drawn[]; error?: string } | undefined;

  /** Opens (or brings to the front) the view of `className` in `uri` (every class when null). */
  static show(extensionUri: vscode.Uri, client: () => LanguageClient | undefined, uri: string, className: string | null): void {
    const current = DataflowPanel.current;
    if (current !== undefined && current.uri === uri && current.className === className) {
      current.panel.reveal(vscode.ViewColumn.Beside, true);
      void current.update();
      return;
    }
    current?.panel.dispose();
    DataflowPanel.current = new DataflowPanel(extensionUri, client, uri, className);
  }

  private constructor(
    extensionUri: vscode.Uri,
    private readonly client: () => LanguageClient | undefined,
    private readonly uri: string,
    private readonly className: string | null,
  ) {
    const dist = vscode.Uri.joinPath(extensionUri, 'dist');
    this.panel = vscode.window.createWebviewPanel(
      'torchwire.dataflow',
      `Dataflow: ${className ?? 'forward()'}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [dist], retainContextWhenHidden: true },
    );
    this.panel.webview.html = page(this.panel.webview, vscode.Uri.joinPath(dist, 'mermaid.min.js'));
    this.disposables.push(
      this.panel.onDidDispose(() => this.dispose()),
      this.panel.webview.onDidReceiveMessage((message) => {
        if (message?.type === 'ready') {
          this.ready = true;
          void this.update();
        }
      }),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (this.follows(event.document.uri)) {
          clearTimeout(this.timer);
          this.timer = setTimeout(() => void this.update(), REDRAW_AFTER_MS);
        }
      }),
      vscode.window.onDidChangeActiveColorTheme(() => this.post()), // drawn again in the new theme
    );
  }

  /** The document drawn, or another cell of its notebook. */
  private follows(changed: vscode.Uri): boolean {
    const drawn = vscode.Uri.parse(this.uri);
    return changed.toString() === this.uri || (changed.scheme === 'vscode-notebook-cell' && drawn.scheme === changed.scheme && changed.path === drawn.path);
  }

  private async update(): Promise<void> {
    const client = this.client();
    if (client === undefined || !this.ready) {
      return;
    }
    try {
      const graphs = (await client.sendRequest(ExecuteCommandRequest.type, {
        command: 'torchwire.dataflowGraph',
        arguments: [this.uri, this.className],
      })) as Drawn[] | null;
      this.last = { graphs: graphs ?? [] };
    } catch (error) {
      this.last = { graphs: [], error: String(error) };
    }
    this.post();
  }

  private post(): void {
    if (this.last !== undefined) {
      void this.panel.webview.postMessage({ type: 'graphs', ...this.last });
    }
  }

  private dispose(): void {
    clearTimeout(this.timer);
    this.disposables.forEach((d) => d.dispose());
    if (DataflowPanel.current === this) {
      DataflowPanel.current = undefined;
    }
  }
}

function page(webview: vscode.Webview, mermaid: vscode.Uri): string {
  const nonce = Array.from({ length: 24 }, () => Math.floor(Math.random() * 36).toString(36)).join('');
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource} 'unsafe-inline'`, // Mermaid styles its SVGs inline
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<style>
  body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); padding: 0 1em; }
  h2 { font-size: 1.1em; font-weight: 600; margin: 1.2em 0 0.4em; }
  .note { color: var(--vscode-descriptionForeground); }
  .graph svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<div id="graphs"><p class="note">Drawing forward()…</p></div>
<script nonce="${nonce}" src="${webview.asWebviewUri(mermaid)}"></script>
<script nonce="${nonce}">
  const vscode = acquireVsCodeApi();
  const root = document.getElementById('graphs');
  let drawn = 0;
  const dark = () => document.body.classList.contains('vscode-dark') || document.body.classList.contains('vscode-high-contrast');
  window.addEventListener('message', async (event) => {
    const message = event.data;
    if (message.type !== 'graphs') return;
    mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: dark() ? 'dark' : 'default' });
    const parts = [];
    for (const graph of message.graphs) {
      try {
        const { svg } = await mermaid.render('torchwire-graph-' + drawn++, graph.mermaid);
        parts.push('<section class="graph" data-class="' + graph.class + '"><h2>' + graph.class + '.forward</h2>' + svg + '</section>');
      } catch (error) {
        parts.push('<p class="note">' + graph.class + ': cannot draw (' + String(error).replace(/</g, '&lt;') + ')</p>');
      }
    }
    if (parts.length === 0) {
      parts.push('<p class="note">' + (message.error ? 'The server did not answer: ' + message.error.replace(/</g, '&lt;') : 'No nn.Module class with a forward() here.') + '</p>');
    }
    root.innerHTML = parts.join('');
    root.dataset.drawn = String(drawn);
  });
  vscode.postMessage({ type: 'ready' });
</script>
</body>
</html>`;
}
