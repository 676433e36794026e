/**
 * The settings the server reads, from the `torchwire` configuration section: `select`, `ignore`,
 * `severity`, `debounce` and `codeLens`. Sent as `{"torchwire": {...}}` in `initializationOptions` and in
 * `workspace/didChangeConfiguration`, and as the answer to `workspace/configuration`. Values of
 * the wrong type are left out here, so one bad entry cannot make the server drop the others.
 * Nothing here imports `vscode`.
 */

export const LEVELS = ['error', 'warning', 'info', 'hint'] as const;
export type Level = (typeof LEVELS)[number];

export interface ServerSettings {
  /** Code prefixes to report; null reports every rule (or what pyproject.toml selects). */
  select: string[] | null;
  ignore: string[];
  severity: Record<string, Level>;
  /** Milliseconds between the last keystroke and the analysis. */
  debounce?: number;
  /** The interpreter whose installed packages imported classes are looked for in. */
  python?: string;
  /** Parameter counts above module classes and containers (code lens). */
  codeLens?: boolean;
}

function strings(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) {
    return undefined;
  }
  return value.filter((item): item is string => typeof item === 'string').map((s) => s.trim()).filter((s) => s !== '');
}

/** `get(key)` reads one key of the `torchwire` section (`select`, `ignore`, ...). */
export function serverSettings(get: (key: string) => unknown): ServerSettings {
  const select = strings(get('select'));
  const severity: Record<string, Level> = {};
  const rawSeverity = get('severity');
  if (rawSeverity !== null && typeof rawSeverity === 'object' && !Array.isArray(rawSeverity)) {
    for (const [code, level] of Object.entries(rawSeverity as Record<string, unknown>)) {
      const normalized = typeof level === 'string' ? level.trim().toLowerCase() : '';
      if (code.trim() !== '' && (LEVELS as readonly string[]).includes(normalized)) {
        severity[code.trim()] = normalized as Level;
      }
    }
  }
  const settings: ServerSettings = {
    select: select !== undefined && select.length > 0 ? select : null,
    ignore: strings(get('ignore')) ?? [],
    severity,
  };
  const debounce = get('debounce');
  if (typeof debounce === 'number' && Number.isFinite(debounce) && debounce >= 0) {
    settings.debounce = Math.round(debounce);
  }
  const codeLens = get('codeLens');
  if (typeof codeLens === 'boolean') {
    settings.codeLens = codeLens;
  }
  return settings;
}

/** Settings whose change needs a new server process rather than a notification. */
export const RESTART_KEYS = ['path'];
