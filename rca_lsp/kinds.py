"""The names that cross modules: retrieval's features and the kinds of evidence.

Retrieval scores features and writes evidence; learned fusion reads the features by these names
(a model file lists them as its columns); the hooks and the server sort evidence by kind; the
README lists both. They are `StrEnum`s, so they are written to JSON and compared with the strings
of an older model file or client as they always were, and a misspelt name fails at import, not
as a silently missing weight.
"""

from __future__ import annotations

from enum import StrEnum


class Feature(StrEnum):
    """A column of retrieval's table: one value per candidate, scaled to 0..1."""

    FRAME = "frame"
    CODE = "code"
    WORDS = "words"
    RECENCY = "recency"
    COUPLING = "coupling"
    FILE = "file"
    OWNER = "owner"
    AUTHORSHIP = "authorship"
    EXECUTED = "executed"
    DATA = "data"
    BLAMED = "blamed"  # it last changed lines, still at HEAD, of a function the failure points at
    BLAMED_NEWEST = "blamed_newest"  # among the commits owning lines of such a function, it is the newest
    SINCE_TEST = "since_test"  # no older than the failing test's last change (suspects.test_change)
    # the context of a candidate, used only by a learned fusion (see suspects.context)
    LOG_LINES = "log_lines"
    LOG_FILES = "log_files"
    LOG_AGE_DAYS = "log_age_days"
    POSITION = "position"
    LOG_CANDIDATES = "log_candidates"
    DIRTY_TESTS = "dirty_tests"


SCORED = (Feature.FRAME, Feature.CODE, Feature.WORDS, Feature.RECENCY, Feature.COUPLING, Feature.FILE,
          Feature.OWNER, Feature.AUTHORSHIP, Feature.EXECUTED, Feature.DATA, Feature.SINCE_TEST, Feature.BLAMED,
          Feature.BLAMED_NEWEST)  # each has a weight (suspects.retrieve.Weights)
CONTEXT = (Feature.LOG_LINES, Feature.LOG_FILES, Feature.LOG_AGE_DAYS, Feature.POSITION, Feature.LOG_CANDIDATES,
           Feature.DIRTY_TESTS)


class EvidenceKind(StrEnum):
    """Why a commit is suspected: each `Evidence` carries one."""

    FRAME_LINE = "frame-line"  # it last changed a frame's line, or one near it
    FRAME_FILE = "frame-file"  # it changed a frame's file
    FRAME_FUNCTION = "frame-function"  # it changed the function a frame is in
    CALLEE = "callee"  # it changed a function the failing test or a frame calls
    BLAMED_LINES = "blamed-lines"  # lines it last changed are still in such a function at HEAD
    WORDS = "words"  # its message, changed names or diff share the failure's words
    TEST_DATA = "test-data"  # its changed names or diff share words of the failing test's strings
    COUPLING = "coupling"  # it changed a file that changes with the failing test's file
    EXECUTED = "executed"  # lines it last changed ran in the failing test (rca bisect)
    OWNER = "owner"  # its author owns failing code by CODEOWNERS or OWNERS
    AUTHORSHIP = "authorship"  # its author wrote much of the failing code's history
    MODEL = "model"  # the language model's score (--ranker llm)


FEATURE_OF: dict[EvidenceKind, Feature] = {
    EvidenceKind.FRAME_LINE: Feature.FRAME, EvidenceKind.FRAME_FILE: Feature.FILE,
    EvidenceKind.FRAME_FUNCTION: Feature.CODE, EvidenceKind.CALLEE: Feature.CODE, EvidenceKind.WORDS: Feature.WORDS,
    EvidenceKind.BLAMED_LINES: Feature.BLAMED,
    EvidenceKind.OWNER: Feature.OWNER, EvidenceKind.AUTHORSHIP: Feature.AUTHORSHIP,
    EvidenceKind.COUPLING: Feature.COUPLING, EvidenceKind.EXECUTED: Feature.EXECUTED,
    EvidenceKind.TEST_DATA: Feature.DATA,
}  # the model's evidence belongs to no retrieval feature

# Who owns a file says nothing about what broke: a suspect with only this evidence is not reported by
# the hooks, and it does not mark a frame's line in the editor.
OWNERSHIP = frozenset({EvidenceKind.OWNER, EvidenceKind.AUTHORSHIP})
