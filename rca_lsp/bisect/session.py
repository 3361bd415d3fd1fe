"""One bisection from start to end: failure, ranking, prior, then tests until the culprit is confirmed.

1. The test runs at BAD in a temporary checkout (unless the failure text is given): it must fail,
   and its output is the failure that retrieval ranks the range's commits for. The files the
   command names that are uncommitted in the work tree are laid into the checkout (`overlay`);
   a run at BAD that cannot test anything (see `runner`) stops the bisection, saying why.
2. Without a good revision, first-parent ancestors of BAD at distances 1, 2, 4, 8, ... are tested
   until one passes; the ones that fail already narrow the range.
3. The range good..BAD is ranked (the index is brought up to date first) and the ranking becomes a
   prior; then the weighted search of `search` picks each next test until one commit is bad with
   all its parents good.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rca_lsp.bisect.command import TestCommand, candidate_paths, command_words, parse, test_classes
from rca_lsp.bisect.coverage import LineRecorder
from rca_lsp.bisect.interrupts import as_interrupt
from rca_lsp.bisect.overlay import Overlay, from_worktree
from rca_lsp.bisect.prior import PriorParams, build_prior
from rca_lsp.bisect.runner import Tester
from rca_lsp.bisect.search import BAD, GOOD, SKIP, Search
from rca_lsp.bisect.workspace import open_checkout
from rca_lsp.errors import BisectError, TraceError
from rca_lsp.traces.clean import normalise
from rca_lsp.types import BisectOutcome, BisectRun, Commit, Suspect

if TYPE_CHECKING:
    from rca_lsp.vcs.base import Backend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BisectOptions:
    command: str
    bad: str = "HEAD"
    good: tuple[str, ...] = ()
    failure: str | None = None  # the failure's text, when given: no run at BAD
    timeout: float | None = None  # seconds per run
    ranker: str = "none"  # none | llm
    rerank_top: int = 20
    prior: PriorParams = field(default_factory=PriorParams)
    trace_lines: bool = True  # record the lines the run at BAD executes (Python commands; see coverage)
    worktree_tests: bool = True  # lay the work tree's uncommitted versions of the named files into each checkout


def bisect(repo: Backend, options: BisectOptions) -> BisectOutcome:
    bad = repo.resolve(options.bad)
    goods = _check_goods(repo, bad, options.good)
    command = _test_command(repo, options.command)
    overlay = from_worktree(repo, command.paths) if options.worktree_tests else Overlay()
    for f in overlay.files:
        log.info("using the work tree's version of %s (%s)", f.path, f.state)
    with as_interrupt(), open_checkout(repo, overlay) as checkout, Tester(checkout, command, options.timeout) as tester:
        failure, executed = options.failure, None
        if failure is None:
            output, executed = _fail_at_bad(tester, bad, options.trace_lines, options.worktree_tests)
            failure = checkout.localise(output)
        if not goods:
            goods = (_find_good(repo, tester, bad),)
        graph = repo.range_parents(bad, goods)
        order, parents = [node for node, _ in graph], dict(graph)
        suspects, warnings, features = _rank(repo, failure, order, options, executed,
                                             tuple(f.path for f in overlay.files))
        search = Search(parents, bad, build_prior(order, suspects, options.prior), options.prior.confirm_at)
        for run in tester.runs:  # what the search for a good revision already learnt
            if run.commit != bad and search.is_open(run.commit) and run.result != GOOD:
                search.record(run.commit, run.result)
        while (probe := search.next_probe()) is not None:
            run, _ = tester.run(probe)
            search.record(probe, run.result)
        end = search.conclusion()
        if end.confirmed and end.culprit is not None:
            _check_untested_parents(tester, parents[end.culprit])
    culprit = _commit(repo, end.culprit, suspects) if end.culprit else None
    return BisectOutcome(culprit, end.confirmed, end.possible, goods, bad, tuple(tester.runs),
                         tuple(suspects), len(order), tuple(checkout.notes + tester.notes + warnings),
                         tuple((f.path, f.state) for f in overlay.files), failure, tuple(features.items()))


def _test_command(repo: Backend, text: str) -> TestCommand:
    """The command, with the repository paths it names (tracked, or untracked and not ignored)."""
    words = command_words(text)
    if not candidate_paths(words) and not test_classes(words):
        return parse(text)
    return parse(text, [*repo.tracked_files(), *repo.untracked_files()])


def _check_goods(repo: Backend, bad: str, revs: tuple[str, ...]) -> tuple[str, ...]:
    goods = tuple(dict.fromkeys(repo.resolve(rev) for rev in revs))
    for rev, good in zip(revs, goods):
        if good == bad:
            raise BisectError(f"the good revision {rev} is the bad one", hint="pass an older --good")
        if not repo.is_ancestor(good, bad):
            raise BisectError(f"the good revision {rev} ({good[:12]}) is not an ancestor of the bad one "
                              f"({bad[:12]})", hint="pass a --good that BAD descends from")
    return goods


def _fail_at_bad(tester: Tester, bad: str, trace_lines: bool,
                 worktree_tests: bool = True) -> tuple[str, dict[str, set[int]] | None]:
    """The failure's text, and the lines the failing run executed (when asked for)."""
    recorder = LineRecorder() if trace_lines else None
    try:
        run, output = tester.run(bad, recorder)
        executed = recorder.lines() if recorder else None
    finally:
        if recorder:
            recorder.close()
    if run.result == GOOD:
        none = _ran_no_tests(output)
        raise BisectError(f"the test passes at BAD ({bad[:12]}, exit 0): there is no failure to bisect"
                          + (f"; it ran no test ({none!r}): does the command select the failing test?" if none else ""),
                          hint="check the --test command, or pass the failing revision as --bad")
    if run.result == SKIP:
        said = _last_line(tester.checkout.localise(output))
        why = run.reason.replace("at this revision", "there") + (f"; it printed: {said}" if said else "")
        raise BisectError(f"the test command could not run at BAD ({bad[:12]}): {why}",
                          hint=_hint_at_bad(run, tester.command, worktree_tests))
    if recorder is not None and not executed and _runs_python(tester.command):
        tester.notes.append(UNTRACED)
    return output, executed


UNTRACED = ("no Python process of the run at BAD was traced: the command runs Python without the PYTHONPATH "
            "rca sets (a `PYTHONPATH=src` of its own replaces it: write `PYTHONPATH=src:$PYTHONPATH`; tox and nox "
            "start their environments without it: tox keeps it with `passenv = PYTHONPATH`), so the lines it ran "
            "are unknown and code it imports from the work tree (an editable install) is not caught")


def _runs_python(command: TestCommand) -> bool:
    """Whether the command runs Python tests (pytest, unittest, tox, nox), whose processes the tracer sees."""
    return command.pytest or command.unittest or bool(re.search(r"(?:^|[\s/])(?:tox|nox)(?:\s|$)", command.text))


def _hint_at_bad(run: BisectRun, command: TestCommand, worktree_tests: bool) -> str:
    if run.exit_code is None and not worktree_tests:
        return "without --no-worktree-tests, an uncommitted file is laid into each checkout"
    if run.exit_code == 2 and command.pytest:
        return "if that error is the failure to bisect, make the command exit 1 for it"
    return "run the --test command at BAD by hand to see why"


_ERROR_LINE = re.compile(r"^(?:E\s+)?(?:[\w.]+(?:Error|Exception)|sh: |bash: |.*: (?:command )?not found)")


_PYTEST_E = re.compile(r"^E\s+")
_BUILD_ERROR = "[ERROR] "  # Maven's: the first one says what failed, the last ones where to read more
_BUILD_BOILERPLATE = ("-> [Help", "[Help", "To see the full", "Re-run Maven", "For more information")
# What test runners print when the command selected nothing: an exit 0 that tested nothing.
_NO_TESTS = re.compile(r"Tests run: 0, Failures: 0|running 0 tests|\b0 passing\b|no tests to run|No tests found")
_SOME_TESTS = re.compile(r"Tests run: [1-9]|running [1-9]\d* tests?|\b[1-9]\d* passing\b")


def _ran_no_tests(output: str) -> str | None:
    """The line of a runner saying it ran no test (Maven's `Tests run: 0`, cargo's `running 0 tests`,
    mocha's `0 passing`), where no line says it ran some."""
    text = normalise(output)
    found = _NO_TESTS.search(text)
    return found.group() if found and not _SOME_TESTS.search(text) else None


def _last_line(output: str) -> str:
    """What says why the run could not test: the first telling line of a build's `[ERROR]` report
    (Maven), else the last error line (pytest's `E   ModuleNotFoundError: ...` of a collection error,
    a shell's `not found`) before the last line; and the last line."""
    lines = [line.strip() for line in normalise(output).splitlines() if line.strip()]
    if not lines:
        return ""
    build = [line for line in lines if line.startswith(_BUILD_ERROR) and line[len(_BUILD_ERROR):].strip()]
    if build:  # the build's own report says it all; its last lines are links
        return next((line for line in build if not line[len(_BUILD_ERROR):].startswith(_BUILD_BOILERPLATE)),
                    build[0])[:400]
    error = next((line for line in reversed(lines[:-1]) if _ERROR_LINE.match(line)), None)
    if error == lines[-1]:
        return error[:200]
    said = lines[-1][:200]
    return f"{_PYTEST_E.sub('', error)[:200]} ... {said}" if error else said


def _check_untested_parents(tester: Tester, parents: tuple[str, ...]) -> None:
    """Where the test failed at every revision it ran, a culprit confirmed by a parent taken as good without
    a run (a --good revision) is what a test that fails everywhere gives too: the checkout lacks what it
    needs (a build output, a tool, an installed dependency), so the commit just after --good would be
    "confirmed". Then the parents run; one that fails or cannot run stops the bisection."""
    if any(r.result == GOOD for r in tester.runs):
        return
    for parent in parents:
        run, output = tester.run(parent)
        if run.result == GOOD:
            continue
        said = _last_line(tester.checkout.localise(output))
        how = f"exit {run.exit_code}" if run.result == BAD else run.reason
        raise BisectError(
            f"the test fails at every revision tried, the good one too: at {parent[:12]} "
            f"{'it failed' if run.result == BAD else 'it could not run'} ({how})"
            + (f"; it printed: {said}" if said else "")
            + ": the failure does not come from a commit of the range, or the test cannot pass in a checkout",
            hint="a checkout has the tracked files only (no build outputs, no generated files): run the --test "
                 "command at the good revision by hand, in a fresh clone, to see why; or pass an older --good")


def _find_good(repo: Backend, tester: Tester, bad: str) -> str:
    """Test first-parent ancestors of BAD at distances 1, 2, 4, ... (and the root) until one passes."""
    chain = repo.first_parents(bad)
    distance = 1
    while True:
        at = min(distance, len(chain) - 1)
        if at <= 0:
            break
        run, _ = tester.run(chain[at])
        if run.result == GOOD:
            return chain[at]
        if at == len(chain) - 1:
            break
        distance *= 2
    # A shallow clone's oldest commit has parents, only not here: more history may hold a good one.
    shallow = chain[-1] in repo.shallow_boundary()
    end = "the oldest commit of this shallow clone" if shallow else "the root commit"
    hint = ("fetch more history (git fetch --deepen N, or --unshallow), or pass --good REV" if shallow
            else "pass --good REV, a revision where the test passes")
    if len(chain) <= 1:
        raise BisectError(f"no good revision: BAD ({bad[:12]}) is {end}, with no ancestors to test here", hint=hint)
    tried = [r for r in tester.runs if r.commit != bad]
    failed = sum(r.result == BAD for r in tried)
    skipped = [r for r in tried if r.result == SKIP]
    why = f" (at {skipped[-1].commit[:12]}: {skipped[-1].reason})" if skipped else ""
    raise BisectError(f"no good revision: of the {len(tried)} ancestors tried, down to {end} "
                      f"{chain[-1][:12]}, the test failed at {failed} and could not run at {len(skipped)}{why}",
                      hint=hint)


def _rank(repo: Backend, failure: str, window: list[str], options: BisectOptions,
          executed: dict[str, set[int]] | None = None, carried: tuple[str, ...] = ()
          ) -> tuple[list[Suspect], list[str], dict]:
    """Retrieval's ranking of the range (after bringing the index up to date) and each candidate's
    features (a confirmed culprit's label keeps them); empty, with a warning, when the failure holds
    no trace: the search then is plain bisection. `carried`: the work tree's uncommitted files laid
    into each checkout (a test being written), which the failure's frames may name."""
    from rca_lsp import service

    service.ensure_index(repo)
    query = service.Query(failure, top=0, ranker=options.ranker, rerank_top=options.rerank_top, explain=True,
                          window=window, executed=executed, tuned=False, carried=carried)
    try:
        result = service.retrieve(repo, query)
    except TraceError as exc:
        return [], [f"no ranking, plain bisection: {exc}"], {}
    if query.ranker == "llm":
        result = service.rerank(repo, result, query)
    return result.suspects, result.warnings, result.features


def _commit(repo: Backend, sha: str, suspects: list[Suspect]) -> Commit:
    found = next((s.commit for s in suspects if s.commit.hash == sha), None)
    return found if found is not None else next(iter(repo.log([sha]))).commit
