"""What a bisection's test command is: whether it runs pytest, and which repository paths it names.

Both change what a run means. pytest's exit codes 2 to 5 (interrupted, internal error, usage
error, no tests collected) say that nothing was tested, so they cannot make a revision bad; a
command is taken for pytest when one of its words is `pytest` or `py.test` (a path to one, or
`pytest-3`) or follows `-m`. The paths it names (`tests/test_x.py::test_y` names
`tests/test_x.py`) must exist at a revision for the run to test anything there; they are also the
files whose uncommitted versions are laid into each checkout (`overlay`). The command is read as
the shell would split it; what cannot be a repository path is left out: options, the program
word of each simple command, the argument of `-m` and `-c`, words with shell expansions, paths
that are absolute or climb out of the root, and the arguments of `test`, `[` and `[[`, whose file
may well be missing (`test -e SKIP_ME && exit 125`). A JVM test named by class (Maven's
`-Dtest=SoundexTest#testZebra`, Gradle's `--tests 'pkg.SoundexTest.testZebra'`) names its source
file where one file is that class's (`SoundexTest.java`, `.kt`, `.groovy` or `.scala`; in the
class's package folder when the selector has one): without it, a new test class written in the work tree was missing from every
checkout, Maven said `No tests matching pattern` (exit 1) at every revision and the commit after
`--good` was "confirmed" (found with commons-codec). Likewise a dotted test label of unittest, nose2 or
Django's `test` command (`python -m unittest tests.test_x.Case.test_y`, `manage.py test app.tests`) names
its module's file (`tests/test_x.py`), or its package's folder: the longest leading part that is one.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass

_PYTEST_WORD = re.compile(r"(?:pytest|py\.test)(?:-?[0-9.]+)?")
_PUNCTUATION = ";&|()"
_CONDITIONS = {"test", "[", "[["}
# Tools whose bare words are subcommands, targets, scripts, sessions or test filters, not paths:
# `npm test`, `make check`, `cargo test skips_blank`, `nox -s tests` (a word with a slash or a file's
# extension still names a path: `npm test -- test/x.test.js`, `go test ./pkg/...`).
_NAMING_TOOLS = frozenset("""npm yarn pnpm bun deno cargo go make gmake mvn mvnw gradle gradlew dotnet tox nox
    just task rake poetry uv hatch pdm bazel""".split())
_BARE = re.compile(r"[\w:.@-]+")
PACKAGE_MANAGERS = frozenset({"npm", "yarn", "pnpm", "bun"})  # they need a package.json to run anything
_NOT_A_PATH = re.compile(r"[$`*?{}~=<>\\]")
_JVM_SOURCES = (".java", ".kt", ".groovy", ".scala")
# Commands whose arguments are dotted test labels: `python -m unittest`, nose2, Django's `test` command.
_LABEL_PROGRAMS = frozenset({"nose2"})
_LABEL_MODULES = frozenset({"unittest", "nose2"})
_DJANGO = frozenset({"manage.py", "django-admin", "django"})
_RUNNER_WORDS = frozenset({"discover", "test"})  # unittest's and Django's subcommands, no labels
_LABEL = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_OUTPUT = re.compile(r"\d*>>?\|?|&>>?")  # a redirection whose next word the run writes


@dataclass(frozen=True)
class TestCommand:
    """The shell command, with what it says about itself."""

    __test__ = False  # not a pytest test class, whatever its name

    text: str
    pytest: bool  # exit codes 2..5 mean "could not test"
    paths: tuple[str, ...] = ()  # repository paths it names, root-relative and normalised
    unittest: bool = False  # `python -m unittest`: exit 5 means no test ran (Python 3.12 and later)
    requires: tuple[str, ...] = ()  # files a revision must have for the command to test anything (package.json)


def parse(text: str, known: Iterable[str] = ()) -> TestCommand:
    """The command `text`; its paths are the words that name one of the `known` files (root-relative:
    tracked, or untracked and not ignored) or a folder holding some."""
    words = command_words(text)
    pytest = any(_PYTEST_WORD.fullmatch(posixpath.basename(w)) for w, _ in words)
    files = set(known)
    folders = {parent for f in files for parent in _parents(f)}
    named = [p for p in candidate_paths(words) if p in files or p in folders]
    for label in test_labels(words):
        named += [module] if (module := _label_path(label, files, folders)) else []
    for name in test_classes(words):
        found = _class_files(name, files)
        named += found if len(found) == 1 else []  # two modules' classes of that name: not told apart
    unittest = any(w == "unittest" and i and words[i - 1][0] == "-m" for i, (w, _) in enumerate(words))
    managed = any(role == "program" and posixpath.basename(w) in PACKAGE_MANAGERS for w, role in words)
    return TestCommand(text, pytest, tuple(dict.fromkeys(named)), unittest, ("package.json",) if managed else ())


def test_classes(words: list[tuple[str, str]]) -> list[str]:
    """The JVM test classes the command selects (`pkg.Name` or `Name`): Maven's `-Dtest=A#m,B` and Gradle's
    `--tests pkg.A.m`; patterns with wildcards and exclusions (`!A`) name no one class."""
    found: list[str] = []
    for i, (word, _) in enumerate(words):
        if word.startswith("-Dtest="):
            selectors = word[len("-Dtest="):].split(",")
        elif word == "--tests" and i + 1 < len(words):
            selectors = [_gradle_class(words[i + 1][0])]
        elif word.startswith("--tests="):
            selectors = [_gradle_class(word[len("--tests="):])]
        else:
            continue
        for selector in selectors:
            name = selector.split("#", 1)[0].strip().removesuffix(".java")
            if name and re.fullmatch(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*", name):
                found.append(name)
    return found


def test_labels(words: list[tuple[str, str]]) -> list[str]:
    """The dotted test labels (`pkg.tests.Case.test_x`) of each simple command that takes them: unittest's
    and nose2's arguments, and those after Django's `test` command (`manage.py test`, `django-admin test`,
    `python -m django test`). Without a file named, a new test module written in the work tree was missing
    from every checkout, and the run failed to import it at every revision."""
    found: list[str] = []
    takes = False
    for i, (word, role) in enumerate(words):
        base = posixpath.basename(word)
        if role == "program":
            takes = base in _LABEL_PROGRAMS
        elif role == "module":
            takes = word in _LABEL_MODULES
        if role in ("program", "module", "argument") and base in _DJANGO and i + 1 < len(words) \
                and words[i + 1] == ("test", "argument"):
            takes = True
        elif takes and role == "argument" and word not in _RUNNER_WORDS and _LABEL.fullmatch(word):
            found.append(word)
    return found


def _label_path(label: str, files: set[str], folders: set[str]) -> str | None:
    """The file (`a/b.py`) or package folder (`a/b`) of the longest leading part of `a.b.Case.test` that is one."""
    parts = label.split(".")
    for k in range(len(parts), 0, -1):
        base = "/".join(parts[:k])
        if base + ".py" in files:
            return base + ".py"
        if base in folders:
            return base
    return None


def _gradle_class(selector: str) -> str:
    """`pkg.Name.method` -> `pkg.Name`: up to the last part that starts with a capital letter."""
    parts = selector.split(".")
    last = max((i for i, part in enumerate(parts) if part[:1].isupper()), default=-1)
    return ".".join(parts[:last + 1]) if last >= 0 else ""


def _class_files(name: str, files: set[str]) -> list[str]:
    """The source files of class `name` (`pkg.Name` must sit in a `pkg/` folder) among `files`."""
    *package, simple = name.split(".")
    tail = "/".join([*package, simple])
    return sorted(f for f in files if posixpath.splitext(f)[1] in _JVM_SOURCES
                  and (f == tail + posixpath.splitext(f)[1] or f.endswith("/" + tail + posixpath.splitext(f)[1])))


def command_words(text: str) -> list[tuple[str, str]]:
    """Each word of `text` with its role: 'program' (the first of each simple command), 'module'
    (after -m), 'code' (after -c), 'condition' (an argument of test, [ or [[), 'option' (a word
    starting with -, or VAR=value before the program), 'output' (the file after `>`, `>>`, `2>`, `&>`:
    written by the run, not needed by it), 'name' (a bare word of a tool that takes names: `npm test`,
    `make check`) or 'argument'."""
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=_PUNCTUATION)
        lexer.whitespace_split = True
        lexer.commenters = ""
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: the shell will refuse it too; read it roughly
        tokens = [t.strip("'\"") for t in text.split()]
    words: list[tuple[str, str]] = []
    program = previous = None
    for token in tokens:
        if set(token) <= set(_PUNCTUATION):
            program = previous = None
            continue
        if program is None and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", token, re.S):
            role = "option"
        elif program is None:
            role, program = "program", posixpath.basename(token)
        elif previous in ("-m", "-c"):
            role = "module" if previous == "-m" else "code"
        elif previous is not None and _OUTPUT.fullmatch(previous):
            role = "output"
        elif program in _CONDITIONS:
            role = "condition"
        elif program in _NAMING_TOOLS and not token.startswith("-") and _bare(token):
            role = "name"
        else:
            role = "option" if token.startswith("-") else "argument"
        words.append((token, role))
        previous = token
    return words


def _bare(token: str) -> bool:
    """A word that names no path: no slash, and no extension (`test`, `test:unit`, `skips_blank`)."""
    return bool(_BARE.fullmatch(token)) and not posixpath.splitext(token)[1][1:].isalpha()


def candidate_paths(words: list[tuple[str, str]]) -> list[str]:
    """The words that may name a repository path, normalised (`./tests/x.py::t` -> `tests/x.py`);
    a program word only when it is a path (`./check.sh`)."""
    found = []
    for word, role in words:
        if role not in ("argument", "program") or (role == "program" and "/" not in word):
            continue
        path = word.split("::", 1)[0]
        if not path or _NOT_A_PATH.search(path) or path.startswith("/"):
            continue
        path = posixpath.normpath(path)
        if path == "." or path == ".." or path.startswith("../"):
            continue
        found.append(path)
    return found


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
