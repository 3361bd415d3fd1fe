"""Python tracebacks: plain, chained, SyntaxError, exception groups, logged and quoted."""

from __future__ import annotations

import pytest

from rca_lsp.errors import TraceError
from rca_lsp.traces import parse, resolve

DJANGO = """\
Internal Server Error: /api/orders/42/
Traceback (most recent call last):
  File "/srv/shop/.venv/lib/python3.11/site-packages/django/core/handlers/exception.py", line 55, in inner
    response = get_response(request)
               ^^^^^^^^^^^^^^^^^^^^^
  File "/srv/shop/.venv/lib/python3.11/site-packages/django/core/handlers/base.py", line 197, in _get_response
    response = wrapped_callback(request, *callback_args, **callback_kwargs)
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/srv/shop/orders/views.py", line 31, in order_detail
    total = compute_total(order)
            ^^^^^^^^^^^^^^^^^^^^
  File "/srv/shop/orders/pricing.py", line 12, in compute_total
    return sum(line.price * line.qty for line in order.lines) / order.discount
           ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~^~~~~~~~~~~~~~~~
ZeroDivisionError: division by zero
"""

REQUESTS_CHAIN = """\
Traceback (most recent call last):
  File "/home/ana/venv/lib/python3.10/site-packages/urllib3/connectionpool.py", line 703, in urlopen
    httplib_response = self._make_request(
  File "/usr/lib/python3.10/http/client.py", line 1374, in getresponse
    response.begin()
ConnectionResetError: [Errno 104] Connection reset by peer

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/home/ana/venv/lib/python3.10/site-packages/requests/adapters.py", line 486, in send
    resp = conn.urlopen(
urllib3.exceptions.ProtocolError: ('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/home/ana/proj/sync/client.py", line 88, in fetch
    r = self.session.get(url, timeout=10)
  File "/home/ana/venv/lib/python3.10/site-packages/requests/sessions.py", line 602, in get
    return self.request("GET", url, **kwargs)
requests.exceptions.ConnectionError: ('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))
"""

FILES = ["orders/views.py", "orders/pricing.py", "orders/models.py", "sync/client.py", "sync/__init__.py"]


def test_django_traceback_frames_innermost_first():
    [trace] = parse(DJANGO)
    assert trace.format == "python"
    assert trace.exception == "ZeroDivisionError"
    assert trace.message == "division by zero"
    assert [f.function for f in trace.frames] == ["compute_total", "order_detail", "_get_response", "inner"]
    assert [f.index for f in trace.frames] == [0, 1, 2, 3]
    assert trace.frames[0].file == "/srv/shop/orders/pricing.py"
    assert trace.frames[0].line == 12
    assert not trace.truncated


def test_django_resolve_marks_site_packages_external():
    [trace] = resolve(parse(DJANGO), FILES)
    assert [f.path for f in trace.frames] == ["orders/pricing.py", "orders/views.py", None, None]
    assert [f.external for f in trace.frames] == [False, False, True, True]


def test_chained_exceptions_main_is_last_and_causes_direct_first():
    [trace] = parse(REQUESTS_CHAIN)
    assert trace.exception == "requests.exceptions.ConnectionError"
    assert trace.frames[0].function == "get"
    assert trace.frames[1].function == "fetch"
    assert [c.exception for c in trace.causes] == ["urllib3.exceptions.ProtocolError", "ConnectionResetError"]
    assert trace.causes[1].message == "[Errno 104] Connection reset by peer"
    assert trace.causes[1].frames[0].function == "getresponse"
    assert len(trace.all_frames()) == 5
    [resolved] = resolve([trace], FILES)
    assert resolved.frames[1].path == "sync/client.py"
    assert all(f.external for f in resolved.causes[1].frames)


def test_syntax_error_without_traceback_header():
    text = """\
  File "/home/ana/proj/app/settings.py", line 14
    DEBUG = True,,
                 ^
SyntaxError: invalid syntax
"""
    [trace] = parse(text)
    assert trace.exception == "SyntaxError"
    assert trace.message == "invalid syntax"
    assert trace.frames[0].line == 14
    assert trace.frames[0].function is None
    assert not trace.truncated
    [resolved] = resolve([trace], ["app/settings.py"])
    assert resolved.frames[0].path == "app/settings.py"


def test_syntax_error_inside_traceback():
    text = """\
Traceback (most recent call last):
  File "/home/ana/proj/main.py", line 1, in <module>
    import app.settings
  File "/home/ana/proj/app/settings.py", line 14
    DEBUG = True,,
                 ^
SyntaxError: invalid syntax
"""
    [trace] = parse(text)
    assert [f.line for f in trace.frames] == [14, 1]
    assert trace.frames[1].function == "<module>"


def test_exception_without_message_and_module_exceptions():
    text = """\
Traceback (most recent call last):
  File "cache.py", line 9, in get
    return self._data[key]
KeyError
"""
    [trace] = parse(text)
    assert trace.exception == "KeyError"
    assert trace.message == ""
    assert trace.frames[0].qualname == "get"


def test_multiline_message_and_notes():
    text = """\
Traceback (most recent call last):
  File "check.py", line 3, in <module>
    validate(cfg)
  File "check.py", line 2, in validate
    raise ValueError("bad config:\\n  port missing")
ValueError: bad config:
  port missing
see docs/config.md

INFO done
"""
    [trace] = parse(text)
    assert trace.message == "bad config:\nport missing\nsee docs/config.md"


def test_exception_group_best_effort():
    text = """\
  + Exception Group Traceback (most recent call last):
  |   File "/home/ana/proj/jobs/run.py", line 21, in main
  |     raise ExceptionGroup("jobs failed", errors)
  | ExceptionGroup: jobs failed (2 sub-exceptions)
  +-+---------------- 1 ----------------
    | Traceback (most recent call last):
    |   File "/home/ana/proj/jobs/run.py", line 15, in run_one
    |     job.execute()
    |   File "/home/ana/proj/jobs/tasks.py", line 7, in execute
    |     raise TimeoutError("job 3")
    | TimeoutError: job 3
    +---------------- 2 ----------------
    | KeyError: 'retries'
    +------------------------------------
"""
    [trace] = parse(text)
    assert trace.exception == "ExceptionGroup"
    assert trace.message == "jobs failed (2 sub-exceptions)"
    assert trace.frames[0].function == "main"
    assert [c.exception for c in trace.causes] == ["TimeoutError", "KeyError"]
    assert [f.function for f in trace.causes[0].frames] == ["execute", "run_one"]


def test_logged_and_quoted_tracebacks():
    text = """\
2024-03-01T10:00:00.123Z worker[812]: ERROR job failed
2024-03-01T10:00:00.124Z worker[812]: Traceback (most recent call last):
2024-03-01T10:00:00.124Z worker[812]:   File "/opt/app/jobs/tasks.py", line 7, in execute
2024-03-01T10:00:00.124Z worker[812]:     raise TimeoutError("job 3")
2024-03-01T10:00:00.125Z worker[812]: TimeoutError: job 3
2024-03-01T10:00:01.000Z worker[812]: INFO retrying
"""
    [trace] = parse(text)
    assert (trace.exception, trace.message) == ("TimeoutError", "job 3")
    assert trace.frames[0].file == "/opt/app/jobs/tasks.py"
    quoted = "> " + DJANGO.replace("\n", "\n> ").replace("\x1b", "")
    coloured = DJANGO.replace("ZeroDivisionError", "\x1b[31mZeroDivisionError\x1b[0m").replace("\n", "\r\n")
    for text in (quoted, coloured):
        [trace] = parse(text)
        assert trace.exception == "ZeroDivisionError"
        assert len(trace.frames) == 4


def test_flattened_indentation_still_parses():
    text = "\n".join(line.strip() for line in DJANGO.splitlines())
    [trace] = parse(text)
    assert trace.exception == "ZeroDivisionError"
    assert [f.line for f in trace.frames] == [12, 31, 197, 55]


def test_truncated_traceback_keeps_frames_seen():
    cut = DJANGO[: DJANGO.index("  File \"/srv/shop/orders/pricing.py\"") + 20]
    [trace] = parse(cut)
    assert trace.truncated
    assert trace.frames[0].function == "order_detail"


def test_two_tracebacks_in_one_log():
    [a, b] = parse(DJANGO + "\nsome other log line\n" + REQUESTS_CHAIN)
    assert a.exception == "ZeroDivisionError"
    assert b.exception == "requests.exceptions.ConnectionError"


def test_resolve_by_module_suffix_and_ambiguity():
    text = """\
Traceback (most recent call last):
  File "/build/src/pkg/util/helpers.py", line 3, in f
    x()
  File "helpers.py", line 9, in x
    raise RuntimeError
RuntimeError
"""
    files = ["src/pkg/util/helpers.py", "tools/helpers.py"]
    [trace] = resolve(parse(text), files)
    assert trace.frames[1].path == "src/pkg/util/helpers.py"
    assert trace.frames[0].path is None and trace.frames[0].external  # two helpers.py: ambiguous


def test_paths_outside_repo_never_resolve():
    text = """\
Traceback (most recent call last):
  File "../../etc/passwd", line 1, in <module>
  File "/etc/passwd", line 1, in <module>
  File "<frozen importlib._bootstrap>", line 1, in _load
OSError: nope
"""
    [trace] = resolve(parse(text), ["etc/passwd_example", "app.py"])
    assert all(f.path is None and f.external for f in trace.frames)


def test_no_trace_raises_trace_error_naming_formats():
    with pytest.raises(TraceError) as info:
        parse("all good\nnothing to see here\n")
    message = str(info.value)
    for word in ("Python traceback", "pytest", "Java", "Go panic", "Rust panic", "JUnit XML"):
        assert word in message


def test_container_log_prefixes_and_markdown_fences():
    compose = """\
web_1  | Traceback (most recent call last):
web_1  |   File "/code/app.py", line 5, in main
web_1  |     1/0
web_1  | ZeroDivisionError: division by zero
db_1   | LOG:  database system is ready
"""
    [trace] = parse(compose)
    assert trace.message == "division by zero"
    assert trace.frames[0].file == "/code/app.py"
    fenced = "Here is my error:\n```\n" + DJANGO + "```\nThanks!"
    [trace] = parse(fenced)
    assert trace.message == "division by zero"
