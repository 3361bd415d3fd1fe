// VS Code client of `rca serve`: commands, a quick pick of suspects, commits as read-only documents.
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LanguageClient, LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';
import {
  COMMIT_SCHEME, PickItem, SuspectsPayload, commitDocumentUri, isCommitHash, parseCommitDocumentUri, pickNotes, pickTitle,
  quickPickItems, serverOptions, suspectsArgument, supersedes, validateSettings,
} from './pure';

let client: LanguageClient | undefined;
let last: SuspectsPayload | undefined; // the suspects shown: a command's answer, or a later stage of it
let picker: { pick: vscode.QuickPick<PickItem & vscode.QuickPickItem>; seq?: number } | undefined;
const shown = new Set<string>();

function readSettings() {
  const config = vscode.workspace.getConfiguration('rca');
  const raw: Record<string, unknown> = {};
  for (const key of ['server.command', 'top', 'ranker', 'device', 'modelWeight', 'fusion', 'coverage']) {
    const inspected = config.inspect(key);
    const value = inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
    if (value !== undefined) raw[key] = value;
  }
  const { settings, problems } = validateSettings(raw);
  for (const p of problems) {
    if (!shown.has(p)) {
      shown.add(p);
      void vscode.window.showWarningMessage(p);
    }
  }
  return settings;
}

async function execute<T>(command: string, args: unknown[]): Promise<T | undefined> {
  if (!client) return undefined;
  const result = await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
  if (result && typeof result === 'object' && 'error' in result) return undefined; // the server said why
  return result as T;
}

async function showCommit(hash: unknown, folderUri?: string) {
  if (!isCommitHash(hash)) {
    const picked = last ? await vscode.window.showQuickPick(quickPickItems(last.suspects), { title: 'RCA: show suspect commit' }) : undefined;
    if (!picked) {
      if (!last) void vscode.window.showInformationMessage('RCA: find suspects first, or pass a commit hash');
      return;
    }
    hash = picked.commit;
  }
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(commitDocumentUri(hash as string, folderUri)));
  await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
}

/** The quick pick of suspects; it stays open and is updated when the model's ranking arrives. */
function showPick(result: SuspectsPayload) {
  picker?.pick.dispose();
  const pick = vscode.window.createQuickPick<PickItem & vscode.QuickPickItem>();
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  fillPick(pick, result);
  const folderUri = vscode.Uri.file(result.root).toString();
  pick.onDidAccept(() => {
    const chosen = pick.selectedItems[0];
    pick.hide();
    if (chosen) void showCommit(chosen.commit, folderUri);
  });
  pick.onDidHide(() => {
    pick.dispose();
    if (picker?.pick === pick) picker = undefined;
  });
  picker = { pick, seq: result.seq };
  pick.show();
}

function fillPick(pick: vscode.QuickPick<PickItem & vscode.QuickPickItem>, result: SuspectsPayload) {
  pick.items = quickPickItems(result.suspects);
  pick.title = pickTitle(result);
  pick.placeholder = pickNotes(result);
  pick.busy = result.final === false;
}

/** `rca/suspects`: a later stage (the model's ranking) replaces the list, in the open quick pick too. */
function onSuspects(update: SuspectsPayload) {
  if (!update.final || !supersedes(last, update)) return; // the first stage is the command's answer
  last = update;
  if (picker && picker.seq === update.seq) {
    fillPick(picker.pick, update);
  } else if (update.stage === 'model') {
    void vscode.window.showInformationMessage(`${pickTitle(update)}.`, 'Show').then((choice) => {
      if (choice && last === update) showPick(update);
    });
  }
}

async function findSuspects(source: 'editor' | 'clipboard') {
  const editor = vscode.window.activeTextEditor;
  const selection = editor && !editor.selection.isEmpty ? editor.selection : undefined;
  const argument = suspectsArgument({
    uri: editor?.document.uri.toString(),
    selection: selection && { start: selection.start, end: selection.end },
    clipboard: source === 'clipboard' || !editor ? await vscode.env.clipboard.readText() : undefined,
  }, source);
  if (!argument) {
    void vscode.window.showInformationMessage('RCA: select a stack trace, or copy one to the clipboard');
    return;
  }
  await showSuspects('rca.suspects', argument);
}

/** Runs `rca.suspects` (or `rca.rankAgain`, the lens of suspects ranked before HEAD moved) and shows the pick. */
async function showSuspects(command: string, argument: unknown) {
  const result = await execute<SuspectsPayload>(command, [argument]);
  if (!result) return;
  if (!supersedes(last, result)) {
    showPick(last!); // the model's ranking of this request came first
    return;
  }
  last = result;
  if (result.suspects.length === 0) {
    void vscode.window.showInformationMessage('RCA: no suspects');
    return;
  }
  showPick(result);
}

export async function activate(context: vscode.ExtensionContext) {
  const settings = readSettings();
  const [command, ...args] = settings.serverCommand;
  const server: ServerOptions = { command, args };
  const options: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file' }],
    initializationOptions: serverOptions(settings),
    synchronize: { configurationSection: 'rca' },
    middleware: {
      // code lenses run the server's rca.showCommit: show the commit rather than only fetch it;
      // rca.rankAgain (suspects ranked before HEAD moved): show the new ranking's pick, as the command does
      executeCommand: async (cmd, cmdArgs, next) => {
        if (cmd === 'rca.showCommit') return showCommit(cmdArgs[0]);
        if (cmd === 'rca.rankAgain') return showSuspects(cmd, cmdArgs[0] ?? {});
        return next(cmd, cmdArgs);
      },
      workspace: {
        configuration: async (params, token, next) => {
          const result = await next(params, token);
          return Array.isArray(result) ? result.map((item, i) =>
            params.items[i].section === 'rca' ? serverOptions(readSettings()) : item) : result;
        },
      },
    },
  };
  client = new LanguageClient('rca', 'RCA', server, options);

  const provider: vscode.TextDocumentContentProvider = {
    async provideTextDocumentContent(uri) {
      const { hash, folderUri } = parseCommitDocumentUri(uri);
      const shownCommit = await execute<{ text: string }>('rca.showCommit', [hash, folderUri]);
      return shownCommit?.text ?? `commit ${hash}: not available (see the RCA messages)`;
    },
  };
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(COMMIT_SCHEME, provider),
    vscode.commands.registerCommand('rca.findSuspects', () => findSuspects('editor')),
    vscode.commands.registerCommand('rca.findSuspectsInClipboard', () => findSuspects('clipboard')),
    vscode.commands.registerCommand('rca.indexRepository', async () => {
      const uri = vscode.window.activeTextEditor?.document.uri.toString();
      await execute('rca.index', [uri ? { uri } : {}]);
    }),
    vscode.commands.registerCommand('rca.showSuspectCommit', (hash?: string) => showCommit(hash)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('rca.server.command')) {
        void vscode.window.showInformationMessage('RCA: reload the window to restart the server with the new command');
      } else if (e.affectsConfiguration('rca')) {
        readSettings();
      }
    }),
  );
  await client.start();
  context.subscriptions.push(client.onNotification('rca/suspects', (params: SuspectsPayload) => onSuspects(params)));
}

export async function deactivate() {
  await client?.stop();
}
