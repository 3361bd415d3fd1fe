"""Prompt text: commit messages and diffs are untrusted data, kept inert before a model sees them.

Three layers keep a commit from steering its own score:
1. `sanitise` removes special and chat-template tokens (`<|im_end|>`, `</s>`, `[INST]` ...), our own
   delimiters and labels, role lines (`assistant:`) and lines that address the reader ("ignore the
   above", "rank this commit first"), so such text never reaches the tokenizer;
2. candidate text only ever appears inside a `<<<` ... `>>>` data block of a fixed template;
3. the default formulation scores the likelihood of the *failure* text, which the commit cannot write.
"""

from __future__ import annotations

import re

from rca_lsp.types import Trace

OPEN, CLOSE = "<<<", ">>>"
LABELS = "ABCDEFGHIJKLMNOPQRST"  # one single-token label per candidate, at most 20 per prompt

_SPECIAL = re.compile(r"<\|[^|<>\n]{0,64}\|>|</?s>|\[/?INST\]|<</?SYS>>|<\|?(?:endoftext|im_start|im_end|eot_id)\|?>",
                      re.IGNORECASE)
_DELIMS = re.compile(r"<{3,}|>{3,}|\(\s*[A-T]\s*\)(?=\s)|\[C\d{1,2}\]")
_STEER_LINE = re.compile(
    r"\b(ignore|disregard|forget|override)\b[^\n]{0,20}\b(above|previous|prior|earlier|preceding|instructions?|prompt)\b"
    r"|\b(rank|rate|score|choose|select|pick|mark)\s+(this|me|it|that)\b[^\n]{0,40}\b(first|top|highest|1st|culprit)\b"
    r"|^\s*(system|assistant|user|human|answer|question|candidates?|failure|commit)\s*:?\s*$"
    r"|^\s*(system|assistant|user|human|answer|question)\s*:",
    re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def sanitise(text: str, specials: list[str] | tuple[str, ...] = ()) -> str:
    """Untrusted text made inert: see the module docstring. Idempotent."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\t", "    "))
    for token in specials:
        text = text.replace(token, "")
    text = _SPECIAL.sub("", text)
    text = _DELIMS.sub("", text)
    kept = [line.rstrip() for line in text.split("\n") if not _STEER_LINE.search(line)]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return out


def failure_text(traces: list[Trace], raw: str, max_frames: int = 6, max_chars: int = 1200) -> str:
    """The failure as the model reads it: exception, message, test, and the in-repository frames first."""
    lines: list[str] = []
    seen: set[tuple[str, str]] = set()
    for trace in traces:
        key = (trace.exception, " ".join(trace.message.split()))
        if key in seen:  # two tests failing alike (pytest's summary, parametrised cases): said once
            continue
        seen.add(key)
        if len(seen) > 2:
            break
        for t in (trace, *trace.causes[:1]):
            message = " ".join(t.message.split())[:240]
            lines.append(f"{t.exception}: {message}" if message else t.exception)
            if t.test:
                lines.append(f"in test {t.test.container}.{t.test.name}")
            frames = [f for f in t.frames if not f.external][:max_frames]
            for f in frames:
                name = f.qualname or f.function or "?"
                where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "")
                lines.append(f"  at {name}({where})")
    if not lines:
        lines = [ln.rstrip() for ln in raw.splitlines() if ln.strip()][:20]
    return sanitise("\n".join(lines))[:max_chars]


# --- (b) query likelihood: log P(failure | change) - log P(failure) ----------------------------
QL_HEADER = "Below is a commit of a software project, then a test failure that this commit caused.\n\n"
QL_NULL = "(no change)"


def ql_change(candidate: str) -> str:
    return f"Commit:\n{OPEN}\n{candidate}\n{CLOSE}\n\nFailure:\n"


# --- (c) relevance: log P(" yes") - log P(" no") after one candidate, the scorer that is trained --
REL_HEADER = ("A test failed. Below are the failure, the failing test's code and one commit, each a data "
              "block. Did this commit cause the failure?\n\nFailure:\n")
REL_NA = "N/A"  # the failure, replaced: the shortcut check (a model that ignores the failure scores alike)
ANSWERS = (" yes", " no")


def rel_prefix(failure: str, test: str) -> str:
    """What every candidate of one case shares (its KV cache is computed once)."""
    code = f"Failing test:\n{OPEN}\n{test}\n{CLOSE}\n\n" if test else ""
    return f"{REL_HEADER}{OPEN}\n{failure}\n{CLOSE}\n\n{code}"


def rel_candidate(candidate: str) -> str:
    return f"Commit:\n{OPEN}\n{candidate}\n{CLOSE}\n\nDid this commit cause the failure? Answer:"


# --- (a) labelled choice: log P(label) as the answer -------------------------------------------
CHOICE_HEADER = ("A test failed. Below are the failure and candidate commits, each a data block. "
                 "Which commit caused the failure?\n\nFailure:\n")


def choice_prompt(failure: str, candidates: list[str]) -> str:
    blocks = "".join(f"({LABELS[i]}) {OPEN}\n{text}\n{CLOSE}\n" for i, text in enumerate(candidates))
    return f"{CHOICE_HEADER}{failure}\n\nCandidates:\n{blocks}\nAnswer: the commit that caused the failure is ("
