// The parts of the extension that do not need VS Code: settings, arguments, labels.
// Unit-tested under plain Node (test/pure.test.ts).

export interface Settings {
  serverCommand: string[];
  top: number;
  ranker: 'none' | 'llm';
  device: 'auto' | 'cpu' | 'cuda';
  modelWeight: number | null; // null: the fusion weight shipped with the server
  fusion: boolean; // false: retrieval's weights alone (no tuned fusion, no fusion for regressions)
  coverage: string | null; // the failing test's coverage report (relative to the repository's top), or none
}

export const DEFAULTS: Settings = { serverCommand: ['rca', 'serve'], top: 20, ranker: 'none', device: 'auto', modelWeight: null, fusion: true, coverage: null };

/** Settings read from `rca.*`, with each invalid value replaced by its default and named once. */
export function validateSettings(raw: Record<string, unknown>): { settings: Settings; problems: string[] } {
  const problems: string[] = [];
  const settings: Settings = { ...DEFAULTS, serverCommand: [...DEFAULTS.serverCommand] };
  const command = raw['server.command'];
  if (command !== undefined) {
    if (Array.isArray(command) && command.length > 0 && command.every((p) => typeof p === 'string' && p !== '')) {
      settings.serverCommand = command as string[];
    } else if (typeof command === 'string' && command.trim() !== '') {
      settings.serverCommand = command.trim().split(/\s+/);
    } else {
      problems.push(`rca.server.command: ${JSON.stringify(command)} is not a command; using "rca serve"`);
    }
  }
  const top = raw['top'];
  if (top !== undefined) {
    if (typeof top === 'number' && Number.isInteger(top) && top >= 0 && top <= 1000) {
      settings.top = top;
    } else {
      problems.push(`rca.top: ${JSON.stringify(top)} is not an integer from 0 to 1000; using ${DEFAULTS.top}`);
    }
  }
  const ranker = raw['ranker'];
  if (ranker !== undefined) {
    if (ranker === 'none' || ranker === 'llm') settings.ranker = ranker;
    else problems.push(`rca.ranker: ${JSON.stringify(ranker)} is not "none" or "llm"; using "none"`);
  }
  const device = raw['device'];
  if (device !== undefined) {
    if (device === 'auto' || device === 'cpu' || device === 'cuda') settings.device = device;
    else problems.push(`rca.device: ${JSON.stringify(device)} is not "auto", "cpu" or "cuda"; using "auto"`);
  }
  const weight = raw['modelWeight'];
  if (weight !== undefined && weight !== null) {
    if (typeof weight === 'number' && Number.isFinite(weight) && weight >= 0 && weight <= 100) settings.modelWeight = weight;
    else problems.push(`rca.modelWeight: ${JSON.stringify(weight)} is not a number from 0 to 100; using the shipped weight`);
  }
  const fusion = raw['fusion'];
  if (fusion !== undefined) {
    if (typeof fusion === 'boolean') settings.fusion = fusion;
    else problems.push(`rca.fusion: ${JSON.stringify(fusion)} is not true or false; using true`);
  }
  const coverage = raw['coverage'];
  if (coverage !== undefined && coverage !== null) {
    if (typeof coverage === 'string' && coverage.trim() !== '' && coverage.length <= 4096 && !coverage.includes('\0')) {
      settings.coverage = coverage;
    } else {
      problems.push(`rca.coverage: ${JSON.stringify(coverage)} is not the path of a coverage report; using none`);
    }
  }
  return { settings, problems };
}

/** What the server receives as initializationOptions / the `rca` configuration section. */
export function serverOptions(settings: Settings): Record<string, unknown> {
  const options: Record<string, unknown> = { top: settings.top, ranker: settings.ranker, device: settings.device };
  if (settings.modelWeight !== null) options.modelWeight = settings.modelWeight;
  if (!settings.fusion) options.fusion = false;
  if (settings.coverage !== null) options.coverage = settings.coverage;
  return options;
}

export interface Position { line: number; character: number }
export interface Range { start: Position; end: Position }

export interface EditorState {
  uri?: string; // the active document, if any
  selection?: Range; // the selection, if not empty
  clipboard?: string;
}

/** The argument of `rca.suspects`: the selection, else the whole document, else the clipboard. */
export function suspectsArgument(state: EditorState, source: 'editor' | 'clipboard' = 'editor'): Record<string, unknown> | undefined {
  if (source === 'clipboard' || !state.uri) {
    const text = state.clipboard ?? '';
    if (text.trim() === '') return undefined;
    return state.uri ? { text, uri: state.uri } : { text };
  }
  const sel = state.selection;
  if (sel && (sel.start.line !== sel.end.line || sel.start.character !== sel.end.character)) {
    return { uri: state.uri, range: sel };
  }
  return { uri: state.uri };
}

export interface SuspectRow {
  commit: string;
  rank: number;
  score: number;
  summary: string;
  author: string;
  date: string;
  title?: string;
  ago?: string;
  evidence: { kind: string; text: string }[];
}

export interface PickItem { label: string; description: string; detail: string; commit: string }

/** One quick-pick item per suspect: "#1 a1b2c3d Summary", "Alice, 3 days ago · score 2.40", evidence. */
export function quickPickItems(rows: SuspectRow[]): PickItem[] {
  return rows.map((s) => ({
    label: `#${s.rank} ${s.commit.slice(0, 7)} ${s.summary}`,
    description: `${s.author}, ${s.ago ?? s.date.slice(0, 10)} · score ${s.score.toFixed(2)}`,
    detail: s.evidence.length ? s.evidence.slice(0, 3).map((e) => e.text).join('; ') : 'no direct evidence (recency, words)',
    commit: s.commit,
  }));
}

export const COMMIT_SCHEME = 'rca-commit';

export function isCommitHash(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-fA-F]{4,64}$/.test(value);
}

/** The read-only virtual document of a commit: rca-commit:/<hash>.diff?<folder uri> */
export function commitDocumentUri(hash: string, folderUri?: string): string {
  if (!isCommitHash(hash)) throw new Error(`not a commit hash: ${hash}`);
  return `${COMMIT_SCHEME}:/${hash}.diff` + (folderUri ? `?${encodeURIComponent(folderUri)}` : '');
}

export function parseCommitDocumentUri(uri: { path: string; query: string }): { hash: string; folderUri?: string } {
  const hash = uri.path.replace(/^\//, '').replace(/\.diff$/, '');
  return { hash, folderUri: uri.query ? decodeURIComponent(uri.query) : undefined };
}

/** The answer of `rca.suspects` and the `rca/suspects` notification: the suspects of one stage. */
export interface SuspectsPayload {
  suspects: SuspectRow[];
  root: string;
  candidates?: number;
  seq?: number; // the request; a larger one is newer
  stage?: 'retrieval' | 'model';
  final?: boolean; // false while the model's ranking is still to come
  skipped?: string; // why the model's ranking did not replace retrieval's
  notes?: string[]; // how the ranking was drawn (the failing test's last change): shown under the title
}

/** Whether `update` should replace what is `shown`: a newer request, or a later stage of the same one. */
export function supersedes(shown: SuspectsPayload | undefined, update: SuspectsPayload): boolean {
  if (!shown || shown.seq === undefined || update.seq === undefined) return true;
  if (update.seq !== shown.seq) return update.seq > shown.seq;
  return !shown.final || (update.final === true && update.stage === 'model' && shown.stage !== 'model');
}

/** The quick pick's placeholder: the ranking's notes, so that a line drawn through history is never silent. */
export function pickNotes(p: SuspectsPayload): string {
  // one note after another, not run together ("... rank with --since ranked by the fusion ...")
  return (p.notes ?? []).map((n) => n.trim().replace(/[.;]$/, '')).filter((n) => n).join(' · ');
}

/** The quick pick's title for a stage: the count, and whether the model's ranking is coming, came, or was skipped. */
export function pickTitle(p: SuspectsPayload): string {
  const n = `RCA: ${p.suspects.length} suspect${p.suspects.length === 1 ? '' : 's'}`;
  if (p.final === false) return `${n} (re-ranking with the model…)`;
  if (p.stage === 'model') return `${n}, ranked by the model`;
  return p.skipped ? `${n} (retrieval's order: ${p.skipped})` : n;
}
