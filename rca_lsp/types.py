"""The frozen dataclasses that cross module boundaries.

Every layer (VCS, index, code, traces, suspects) speaks in these types, so a
front end (CLI, language server, hooks) never needs to know how they were made.
Line numbers are 1-based and ranges are inclusive throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rca_lsp.kinds import EvidenceKind


@dataclass(frozen=True)
class Commit:
    hash: str
    parents: tuple[str, ...]
    author: str
    email: str
    author_date: int  # unix seconds
    commit_date: int
    message: str

    @property
    def summary(self) -> str:
        return self.message.split("\n", 1)[0].strip()


@dataclass(frozen=True)
class Hunk:
    """A zero-context hunk: lines old_start..old_start+old_len-1 became new_start..new_start+new_len-1."""

    old_start: int
    old_len: int
    new_start: int
    new_len: int
    added: str = ""  # text of the added lines, possibly truncated
    removed: str = ""
    layout: bool = False  # only layout changed (diffparse.layout_only): no behaviour


@dataclass(frozen=True)
class FileChange:
    status: str  # A, M, D, R, C, T
    old_path: str | None
    new_path: str | None
    binary: bool = False
    hunks: tuple[Hunk, ...] = ()
    old_blob: str | None = None
    new_blob: str | None = None

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


@dataclass(frozen=True)
class Symbol:
    """A function, method or class in one version of one file."""

    name: str  # short name: createInteger
    qualname: str  # dotted within the file: NumberUtils.createInteger
    kind: str  # function | method | class | constructor
    start_line: int
    end_line: int


@dataclass(frozen=True)
class Call:
    """A call site found by name; the callee is resolved later, best-effort."""

    caller: str  # qualname of the enclosing symbol ("" at module level)
    callee: str  # short name called: createInteger
    line: int
    receiver: str = ""  # the text before the dot, if any: NumberUtils, this, str
    receiver_type: str = ""  # declared type of the receiver when the file says it (Java locals, fields)


@dataclass(frozen=True)
class Frame:
    """One stack frame as the trace spells it, plus where it resolved in the repository."""

    index: int  # 0 = innermost (top of the printed stack)
    raw: str
    file: str | None = None  # as printed: NumberUtils.java, /abs/x.py, src/a.js
    line: int | None = None
    function: str | None = None  # short name: createInteger, <module>, anonymous
    qualname: str | None = None  # as printed: org.apache.commons.lang3.math.NumberUtils.createInteger
    module: str | None = None  # java package.Class / python module / go package
    path: str | None = None  # resolved repository path (POSIX, relative to the root)
    external: bool = False  # library / JDK / site-packages / runtime frame


_FILE_EXTENSIONS = frozenset({"py", "js", "mjs", "cjs", "ts", "tsx", "jsx", "go", "rs", "java", "kt", "rb", "c", "cc",
                              "cpp", "h", "hpp", "scala", "groovy"})


@dataclass(frozen=True)
class TestId:
    """The failing test as named by the signal: a class (or file) and a method."""

    container: str  # org.apache.commons.lang3.math.NumberUtilsTest, tests/test_x.py, TestFoo
    name: str  # testLang747, test_dates: the function, so its code and calls can be found
    path: str | None = None  # resolved repository path when known
    # The case as printed after the name (`[a-1]`, ` (k='v')`, ` [msg] (i=0)`): shown, not compared,
    # since every case of a test runs the same function.
    params: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        """How a person names the test, case included: `SplitAtTests.test_basic (k='v')`, `test_x[a-1]`."""
        _, _, owner = self.container.rpartition("::")
        if "/" in owner or "\\" in owner or owner.rpartition(".")[2] in _FILE_EXTENSIONS:
            owner = ""  # a file, not a class: `tests/test_x.py`
        owner = owner.rsplit(".", 1)[-1]
        return f"{owner + '.' if owner else ''}{self.name}{self.params}"


@dataclass(frozen=True)
class Trace:
    """One failure: an exception and its frames, possibly chained (cause first in `causes`)."""

    format: str  # python | pytest | java | javascript | go | rust | cpp | junit
    exception: str  # java.lang.NumberFormatException, ValueError, panic
    message: str
    frames: tuple[Frame, ...]
    test: TestId | None = None
    causes: tuple["Trace", ...] = ()
    truncated: bool = False

    def all_frames(self) -> tuple[Frame, ...]:
        out = list(self.frames)
        for cause in self.causes:
            out.extend(cause.all_frames())
        return tuple(out)


@dataclass(frozen=True)
class Evidence:
    """One reason a commit is suspected, with the points it earned and a sentence for people."""

    kind: EvidenceKind
    weight: float
    text: str
    path: str | None = None
    line: int | None = None
    symbol: str | None = None
    frame: int | None = None


@dataclass(frozen=True)
class Ownership:
    """Someone who owns a file, how much, and where that comes from."""

    path: str  # the file owned
    owner: str  # as written: @alice, alice@example.com, alice (Kubernetes); history: the author's email
    share: float  # 0..1: 1 / owners of the deciding rule (halved per directory inherited), or share of history
    source: str  # for people: "CODEOWNERS line 3 (/src/ @alice)", "OWNERS file src/OWNERS", "history: ..."
    name: str = ""  # history owners: the author's name as the index has it


@dataclass(frozen=True)
class Suspect:
    commit: Commit
    score: float
    rank: int
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class BisectRun:
    """One run of a bisection's test command: exit 0 good, 125 skip, 1..127 bad (as `git bisect run`),
    except that a run that could not test anything (126, 127, pytest's 2..5, a named test file
    absent) is a skip with its reason."""

    commit: str
    result: str  # good | bad | skip
    exit_code: int | None  # None when the command was not run (a file it names is absent)
    seconds: float
    reason: str = ""  # why a skip is one


@dataclass(frozen=True)
class BisectOutcome:
    """What a bisection found, and what it cost."""

    culprit: Commit | None  # None when skipped commits leave several possibilities
    confirmed: bool  # the test failed at the culprit and passed at all its parents
    possible: tuple[str, ...]  # the commits that may be the culprit, most likely first
    good: tuple[str, ...]
    bad: str
    runs: tuple[BisectRun, ...]
    suspects: tuple[Suspect, ...]  # retrieval's ranking of the range, best first
    candidates: int  # commits in the range good..bad
    warnings: tuple[str, ...] = ()
    worktree_files: tuple[tuple[str, str], ...] = ()  # (path, untracked | modified): the work tree's version ran
    failure: str = ""  # the failure's text that was ranked
    features: tuple[tuple[str, dict[str, float]], ...] = ()  # each candidate's features: a label's rows

    @property
    def skipped(self) -> tuple[str, ...]:
        return tuple(r.commit for r in self.runs if r.result == "skip")
