"""Normalisation: colour codes, line ends, log prefixes and quoting."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rca_lsp.traces.clean import LEVEL, NO_PREFIX, STAMP, make_doc


def test_log_prefixes_are_removed_and_indentation_kept():
    doc = make_doc(
        "2024-03-01T10:00:00.1234567Z   File \"x.py\", line 1, in f\n"
        "[2024-03-01 10:00:00,123] ERROR in app: boom\n"
        "Mar  1 10:00:00 host worker[812]: Traceback (most recent call last):\n"
        "[INFO] Running com.acme.FooTest\n"
        "2024-03-01 10:00:00,123 - app.views - ERROR - failed\n"
        "web_1  | ValueError: x\n"
        "[pod/api-7f9/app] panic: boom\n"
        "plain line\n"
    )
    assert doc.text == (
        "  File \"x.py\", line 1, in f",
        "in app: boom",
        "Traceback (most recent call last):",
        "Running com.acme.FooTest",
        "failed",
        "ValueError: x",
        "panic: boom",
        "plain line",
        "",
    )
    assert doc.fresh[:5] == (STAMP, LEVEL, STAMP, LEVEL, LEVEL)
    assert doc.fresh[7] == NO_PREFIX
    assert doc.source[5] == "web_1"


def test_quoting_is_removed_only_in_plain():
    doc = make_doc("> > Traceback (most recent call last):\n  |   File \"x.py\", line 1\nE       assert 1 == 2\n>>> x\n")
    assert doc.plain[:4] == ("Traceback (most recent call last):", "  File \"x.py\", line 1", "    assert 1 == 2",
                             ">>> x")
    assert doc.text[2] == "E       assert 1 == 2"


def test_colour_codes_and_line_ends():
    doc = make_doc("\x1b[31mred\x1b[0m\r\nnext\rlast\x1b]8;;http://x\x07link\x1b]8;;\x07")
    assert doc.text == ("red", "next", "lastlink")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(["\x1b", "[", "]", "\n", "\r", "a", "0", ";", "\x07", "\\", " ", "|", ">"])))
def test_one_line_out_per_line_in(text):
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    doc = make_doc(text)
    assert len(doc.text) == len(doc.plain) == len(doc.fresh) == len(lines)
