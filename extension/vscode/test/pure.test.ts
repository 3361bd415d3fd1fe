import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULTS, SuspectsPayload, commitDocumentUri, parseCommitDocumentUri, pickNotes, pickTitle, quickPickItems, serverOptions,
  suspectsArgument, supersedes, validateSettings,
} from '../src/pure';

test('valid settings pass through', () => {
  const { settings, problems } = validateSettings({ 'server.command': ['/opt/rca', 'serve'], top: 5, ranker: 'llm', device: 'cuda' });
  assert.deepEqual(problems, []);
  assert.deepEqual(settings, { serverCommand: ['/opt/rca', 'serve'], top: 5, ranker: 'llm', device: 'cuda', modelWeight: null, fusion: true, coverage: null });
  assert.deepEqual(serverOptions(settings), { top: 5, ranker: 'llm', device: 'cuda' });
  const weighted = validateSettings({ ranker: 'llm', modelWeight: 0.5 });
  assert.deepEqual(serverOptions(weighted.settings), { top: 20, ranker: 'llm', device: 'auto', modelWeight: 0.5 });
  const plain = validateSettings({ fusion: false });
  assert.deepEqual(plain.problems, []);
  assert.deepEqual(serverOptions(plain.settings), { top: 20, ranker: 'none', device: 'auto', fusion: false });
  const covered = validateSettings({ coverage: 'coverage.json' });
  assert.deepEqual(covered.problems, []);
  assert.deepEqual(serverOptions(covered.settings), { top: 20, ranker: 'none', device: 'auto', coverage: 'coverage.json' });
  assert.deepEqual(serverOptions(validateSettings({ coverage: null }).settings), { top: 20, ranker: 'none', device: 'auto' });
});

test('invalid settings are replaced by defaults, each named', () => {
  const { settings, problems } = validateSettings({ 'server.command': [], top: -1, ranker: 'gpt', device: 'tpu', modelWeight: -2, fusion: 'no', coverage: '  ' });
  assert.deepEqual(settings, DEFAULTS);
  assert.equal(problems.length, 7);
  assert.match(problems[6], /rca.coverage: "  " is not the path of a coverage report; using none/);
  assert.match(problems[5], /rca.fusion: "no" is not true or false/);
  assert.match(problems[4], /rca.modelWeight: -2 is not a number from 0 to 100/);
  assert.match(problems[1], /rca.top: -1 is not an integer/);
  assert.match(problems[3], /rca.device: "tpu"/);
  assert.deepEqual(validateSettings({ 'server.command': 'python -m rca_lsp serve' }).settings.serverCommand,
    ['python', '-m', 'rca_lsp', 'serve']);
});

test('arguments: selection, else document, else clipboard', () => {
  const sel = { start: { line: 2, character: 0 }, end: { line: 9, character: 0 } };
  assert.deepEqual(suspectsArgument({ uri: 'file:///r/log.txt', selection: sel }), { uri: 'file:///r/log.txt', range: sel });
  const empty = { start: { line: 2, character: 4 }, end: { line: 2, character: 4 } };
  assert.deepEqual(suspectsArgument({ uri: 'file:///r/log.txt', selection: empty }), { uri: 'file:///r/log.txt' });
  assert.deepEqual(suspectsArgument({ clipboard: 'Traceback ...' }), { text: 'Traceback ...' });
  assert.deepEqual(suspectsArgument({ uri: 'file:///r/a.py', clipboard: 'x' }, 'clipboard'), { text: 'x', uri: 'file:///r/a.py' });
  assert.equal(suspectsArgument({ clipboard: '  ' }), undefined);
});

test('quick-pick items', () => {
  const [item] = quickPickItems([{
    commit: 'e699f95669c77573ea29fa29aff98f2dae2e97cc', rank: 1, score: 2.4021, summary: 'Simplify parse',
    author: 'Carol', date: '2020-09-13T15:26:40Z', ago: '3 days ago',
    evidence: [{ kind: 'frame-line', text: 'changed Calc.parse, frame 3 of the trace, at line 5' }],
  }]);
  assert.equal(item.label, '#1 e699f95 Simplify parse');
  assert.equal(item.description, 'Carol, 3 days ago · score 2.40');
  assert.equal(item.detail, 'changed Calc.parse, frame 3 of the trace, at line 5');
  assert.equal(item.commit.length, 40);
});

test('commit documents', () => {
  const uri = commitDocumentUri('e699f95669', 'file:///r');
  assert.equal(uri, 'rca-commit:/e699f95669.diff?file%3A%2F%2F%2Fr');
  assert.deepEqual(parseCommitDocumentUri({ path: '/e699f95669.diff', query: 'file%3A%2F%2F%2Fr' }), { hash: 'e699f95669', folderUri: 'file:///r' });
  assert.throws(() => commitDocumentUri('--output=/tmp/x'));
});

test('stages: the model replaces retrieval of the same request; nothing older replaces anything newer', () => {
  const stage = (seq: number, stage: 'retrieval' | 'model', final: boolean, extra: Partial<SuspectsPayload> = {}): SuspectsPayload =>
    ({ suspects: [], root: '/r', seq, stage, final, ...extra });
  const first = stage(1, 'retrieval', false);
  const model = stage(1, 'model', true);
  assert.equal(supersedes(undefined, first), true);
  assert.equal(supersedes(first, model), true);
  assert.equal(supersedes(model, first), false); // the answer arriving after the model's ranking
  assert.equal(supersedes(model, stage(2, 'retrieval', false)), true);
  assert.equal(supersedes(stage(2, 'retrieval', false), model), false); // a dropped request's late stage
  assert.equal(supersedes(first, stage(1, 'retrieval', true, { skipped: 'cancelled' })), true);
  assert.equal(supersedes(stage(1, 'retrieval', true), stage(1, 'retrieval', false)), false);
});

test('stage titles', () => {
  assert.equal(pickTitle({ suspects: [], root: '/r', final: false, stage: 'retrieval' }), 'RCA: 0 suspects (re-ranking with the model…)');
  const one = { commit: 'a'.repeat(40), rank: 1, score: 1, summary: 's', author: 'A', date: '2020-01-01', evidence: [] };
  assert.equal(pickTitle({ suspects: [one], root: '/r', final: true, stage: 'model' }), 'RCA: 1 suspect, ranked by the model');
  assert.equal(pickTitle({ suspects: [one, one], root: '/r', final: true, stage: 'retrieval', skipped: 'the model stage was cancelled' }),
    "RCA: 2 suspects (retrieval's order: the model stage was cancelled)");
  assert.equal(pickTitle({ suspects: [one], root: '/r' }), 'RCA: 1 suspect');
});

test('notes become the placeholder', () => {
  assert.equal(pickNotes({ suspects: [], root: '/r' }), '');
  const note = 'ranked lower: the 812 commits older than 1a2b3c4d5e (Test February), which last changed the failing test test_days';
  assert.equal(pickNotes({ suspects: [], root: '/r', notes: [note] }), note);
});

test('pickNotes keeps notes apart', () => {
  const notes = ['ranked lower: the 3 commits older than abc; if it failed from the start, rank with --since',
    'ranked by the fusion for regressions.'];
  assert.equal(pickNotes({ suspects: [], root: '/r', notes }),
    'ranked lower: the 3 commits older than abc; if it failed from the start, rank with --since · ranked by the fusion for regressions');
});
