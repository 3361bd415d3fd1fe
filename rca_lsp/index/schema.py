"""The index schema: every table, created and changed only through these migrations.

Changing the schema means adding a migration at the end, never editing one that shipped:
an index built by an older rca is upgraded in place, step by step, each step in one transaction.
"""

from __future__ import annotations

from rca_lsp.index.sqlite import Database, Migrations

migrations = Migrations("rca_lsp.index")


@migrations()
def m001_history(db: Database) -> None:
    db.executescript("""
    CREATE TABLE commits (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        parents TEXT NOT NULL,
        author TEXT NOT NULL,
        email TEXT NOT NULL,
        author_date INTEGER NOT NULL,
        commit_date INTEGER NOT NULL,
        message TEXT NOT NULL,
        files INTEGER NOT NULL,
        added INTEGER NOT NULL,
        removed INTEGER NOT NULL
    );
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        commit_id INTEGER NOT NULL REFERENCES commits(id),
        status TEXT NOT NULL,
        old_path TEXT,
        new_path TEXT,
        path TEXT NOT NULL,
        binary INTEGER NOT NULL,
        old_blob TEXT,
        new_blob TEXT,
        added INTEGER NOT NULL,
        removed INTEGER NOT NULL
    );
    CREATE INDEX files_commit ON files(commit_id);
    CREATE INDEX files_path ON files(path);
    CREATE INDEX files_old_path ON files(old_path);
    CREATE TABLE hunks (
        file_id INTEGER NOT NULL REFERENCES files(id),
        commit_id INTEGER NOT NULL,
        old_start INTEGER NOT NULL,
        old_len INTEGER NOT NULL,
        new_start INTEGER NOT NULL,
        new_len INTEGER NOT NULL
    );
    CREATE INDEX hunks_file ON hunks(file_id);
    CREATE INDEX hunks_commit ON hunks(commit_id);
    CREATE TABLE changed_symbols (
        commit_id INTEGER NOT NULL REFERENCES commits(id),
        file_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        qualname TEXT NOT NULL,
        kind TEXT NOT NULL,
        lines INTEGER NOT NULL
    );
    CREATE INDEX changed_symbols_name ON changed_symbols(name);
    CREATE INDEX changed_symbols_qualname ON changed_symbols(qualname);
    CREATE INDEX changed_symbols_commit ON changed_symbols(commit_id);
    CREATE VIRTUAL TABLE commit_text USING fts5(message, symbols, diff, tokenize='unicode61');
    CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT);
    """)


@migrations()
def m002_code(db: Database) -> None:
    """Symbols and call sites of the HEAD tree, keyed by blob so unchanged files are parsed once."""
    db.executescript("""
    CREATE TABLE code_blobs (blob TEXT PRIMARY KEY, language TEXT NOT NULL);
    CREATE TABLE code_symbols (
        blob TEXT NOT NULL,
        name TEXT NOT NULL,
        qualname TEXT NOT NULL,
        kind TEXT NOT NULL,
        start_line INTEGER NOT NULL,
        end_line INTEGER NOT NULL
    );
    CREATE INDEX code_symbols_blob ON code_symbols(blob);
    CREATE INDEX code_symbols_name ON code_symbols(name);
    CREATE TABLE code_calls (
        blob TEXT NOT NULL,
        caller TEXT NOT NULL,
        callee TEXT NOT NULL,
        line INTEGER NOT NULL,
        receiver TEXT NOT NULL,
        receiver_type TEXT NOT NULL
    );
    CREATE INDEX code_calls_blob ON code_calls(blob);
    CREATE TABLE head_files (path TEXT PRIMARY KEY, blob TEXT NOT NULL);
    CREATE INDEX head_files_blob ON head_files(blob);
    """)


@migrations()
def m003_code_bases(db: Database) -> None:
    """Supertypes per class, so the call graph can reach overrides; the HEAD code cache restarts."""
    db.executescript("""
    CREATE TABLE code_bases (blob TEXT NOT NULL, qualname TEXT NOT NULL, base TEXT NOT NULL);
    CREATE INDEX code_bases_blob ON code_bases(blob);
    DELETE FROM code_calls;
    DELETE FROM code_symbols;
    DELETE FROM code_blobs;
    DELETE FROM head_files;
    DELETE FROM state WHERE key = 'head';
    """)


# What a change to the code layer's extraction runs: HEAD's symbols and calls are parsed again.
_RESTART_HEAD_CODE = """
    DELETE FROM code_calls;
    DELETE FROM code_symbols;
    DELETE FROM code_bases;
    DELETE FROM code_blobs;
    DELETE FROM head_files;
    DELETE FROM state WHERE key = 'head';
    """


@migrations()
def m004_code_python_module_constructors(db: Database) -> None:
    """`x = module.Foo()` now types `x` as Foo in Python: the HEAD code cache restarts."""
    db.executescript(_RESTART_HEAD_CODE)


@migrations()
def m005_missing_objects(db: Database) -> None:
    """Versions a commit's diff needed that the object store lacked (a partial clone, a lost
    object): the commit is indexed without those hunks, and again once they are there."""
    db.executescript("""
    CREATE TABLE missing_objects (
        commit_id INTEGER NOT NULL REFERENCES commits(id),
        path TEXT NOT NULL,
        blob TEXT NOT NULL
    );
    CREATE INDEX missing_objects_commit ON missing_objects(commit_id);
    """)


@migrations()
def m006_code_java_references(db: Database) -> None:
    """Java static imports, `Foo.class`, class names in strings and enum constants' methods now
    reach code: the HEAD code cache restarts. (Changed functions of commits indexed before keep
    their old names: an enum constant's method stays the enum's.)"""
    db.executescript(_RESTART_HEAD_CODE)


@migrations()
def m007_code_python_imports(db: Database) -> None:
    """Python `from M import f` makes a bare `f(...)` a call of M's f, and a function handed over as
    an argument (a callback) counts as called: the HEAD code cache restarts."""
    db.executescript(_RESTART_HEAD_CODE)


@migrations()
def m008_code_js_tests(db: Database) -> None:
    """A JavaScript/TypeScript test callback (`it("title", ..)`, in `describe("suite", ..)`) is a
    function named by its title, so a failing JS test is walked from, and committed bundles and
    vendored code (`dist/`, `*.min.js`, `vendor/`) leave the call graph; a Go function handed over
    as an argument counts as called: the HEAD code cache restarts. The changed functions of every
    indexed commit that touched a JavaScript or TypeScript file are read again at the next update
    (state `redo`): a named function expression is a function now, and in a library written so
    (`var add = _curry2(function add(a, b) {..})`) most changes were in none before."""
    db.executescript(_RESTART_HEAD_CODE)
    db.execute(
        "INSERT OR REPLACE INTO state(key, value) SELECT 'redo', group_concat(hash, ' ') FROM (SELECT DISTINCT"
        " c.hash FROM commits c JOIN files f ON f.commit_id = c.id WHERE " +
        " OR ".join(f"f.path LIKE '%{ext}'" for ext in _SCRIPT_EXTENSIONS) + ") HAVING count(*) > 0")


_SCRIPT_EXTENSIONS = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx")


# From m009 on, a restart of the HEAD code cache also clears the exports (earlier indexes lack the table).
_RESTART_HEAD_CODE_9 = _RESTART_HEAD_CODE + "    DELETE FROM code_exports;\n"


@migrations()
def m009_code_default_exports(db: Database) -> None:
    """The function a JavaScript/TypeScript module exports as its default (`module.exports = f`,
    `export default f`), which a binding of the module runs when called, and JS tests whose titles
    are computed (`it(name, ..)` in a loop, Jest's `test.each`), now functions named by a pattern:
    the HEAD code cache restarts with them."""
    db.executescript("""
    CREATE TABLE code_exports (blob TEXT NOT NULL, name TEXT NOT NULL, qualname TEXT NOT NULL);
    CREATE INDEX code_exports_blob ON code_exports(blob);
    """ + _RESTART_HEAD_CODE_9)


@migrations()
def m010_code_go_interfaces(db: Database) -> None:
    """A Go interface's methods are its members and the types whose methods include them implement
    it; an embedded type is a base. A JavaScript method put on a prototype (`_Set.prototype.add =
    function ..`) is its constructor's (`_Set.add`, was `add`); a definition made on an object
    (`picomatch.parse = (..) => parse(..)`) no longer hides the module binding of its name, and a
    member imported from a folder (`const {isMatch} = require("..")`) is the package's. A Python
    `self.x = Foo()` types `self.x` in every method of the class. The HEAD code cache restarts, and every indexed commit that touched a Go, JavaScript or TypeScript file
    is read again at the next update (their changed functions take the new names), with any commits
    an earlier migration left to read."""
    db.executescript(_RESTART_HEAD_CODE_9)
    touched = " OR ".join(f"f.path LIKE '%{ext}'" for ext in (".go", *_SCRIPT_EXTENSIONS))
    redo = [r[0] for r in db.execute(
        f"SELECT DISTINCT c.hash FROM commits c JOIN files f ON f.commit_id = c.id WHERE {touched}")]
    _read_again(db, redo)


def _read_again(db: Database, hashes: list[str]) -> None:
    """Commits the next update reads again (state `redo`), after those an earlier migration left."""
    if hashes:
        pending = (db.execute("SELECT value FROM state WHERE key = 'redo'").fetchone() or ("",))[0] or ""
        joined = " ".join(dict.fromkeys([*pending.split(), *hashes]))
        db.execute("INSERT OR REPLACE INTO state(key, value) VALUES ('redo', ?)", (joined,))


@migrations()
def m011_layout_hunks(db: Database) -> None:
    """A hunk that only changed layout (`diffparse.layout_only`: a brace moved, spaces dropped, blank
    lines) is marked: it changes no function and blame looks through it. Every indexed commit with
    a hunk is read again at the next update, with any commits an earlier migration left to read."""
    db.execute("ALTER TABLE hunks ADD COLUMN layout INTEGER NOT NULL DEFAULT 0")
    redo = [r[0] for r in db.execute(
        "SELECT c.hash FROM commits c WHERE EXISTS (SELECT 1 FROM hunks h WHERE h.commit_id = c.id)")]
    _read_again(db, redo)


@migrations()
def m012_inert_java_words(db: Database) -> None:
    """A Java hunk that only adds or drops `final` or `@Override` (`diffparse.INERT_WORDS`) is marked
    as layout too: every indexed commit that touched a Java file is read again at the next update."""
    _read_java_again(db)


def _read_java_again(db: Database) -> None:
    _read_again(db, [r[0] for r in db.execute(
        "SELECT DISTINCT c.hash FROM commits c JOIN files f ON f.commit_id = c.id WHERE f.path LIKE '%.java'")])


@migrations()
def m013_inert_java_annotations(db: Database) -> None:
    """A Java hunk that only adds, drops or edits `@SuppressWarnings(..)` (`diffparse.INERT_ANNOTATIONS`)
    is layout too: every indexed commit that touched a Java file is read again at the next update."""
    _read_java_again(db)


@migrations()
def m014_dates_in_range(db: Database) -> None:
    """A commit date outside years 1 to 9999 (`diffparse.EARLIEST`, `LATEST`: milliseconds written
    for seconds) is kept as the nearest date in range, as a new index keeps it: such a date made
    every `rca suspects` fail."""
    from rca_lsp.vcs.diffparse import EARLIEST, LATEST

    for column in ("author_date", "commit_date"):
        db.execute(f"UPDATE commits SET {column} = max(min({column}, ?), ?) WHERE {column} NOT BETWEEN ? AND ?",
                   (LATEST, EARLIEST, EARLIEST, LATEST))


@migrations()
def m015_dates_before_1970(db: Database) -> None:
    """git prints no date before 1970 (`%at`, `%ct` empty), which the index kept as 0, 1970-01-01:
    every commit dated 0 is read again at the next update, its dates from its own header."""
    _read_again(db, [r[0] for r in db.execute("SELECT hash FROM commits WHERE author_date = 0 OR commit_date = 0")])


@migrations()
def m016_exact_path_names(db: Database) -> None:
    """A file name that is not UTF-8 (`caf\\xe9.py` in latin-1) was kept with `?` for each byte that is
    not (`caf?.py`): no trace reached the file, and names one byte apart were one. Names are kept
    exactly now (`queries.stored_path`): every indexed commit with a `?` in a path is read again at
    the next update, which lists HEAD's files again too."""
    _read_again(db, [r[0] for r in db.execute(
        "SELECT DISTINCT c.hash FROM commits c JOIN files f ON f.commit_id = c.id"
        " WHERE f.path LIKE '%?%' OR f.old_path LIKE '%?%' OR f.new_path LIKE '%?%'")])


@migrations()
def m017_exact_hg_path_names(db: Database) -> None:
    """Mercurial's names are kept exactly too (hg.py read them with `?` for each byte that is not
    UTF-8 after m016 ran): the commits with a `?` in a path are read again, as m016 reads them."""
    m016_exact_path_names(db)


SCHEMA_VERSION = 17
