"""Time rca_lsp.traces.parse on 1, 5 and 10 MB inputs, to show that parsing is linear.

    python scripts/bench_traces.py            # mixed traces and log noise
    python scripts/bench_traces.py --hostile  # near-miss lines built to trip regexes

Prints one line per size with the seconds taken and the seconds per MB; the last
column should stay roughly flat as the size grows.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rca_lsp.errors import TraceError  # noqa: E402
from rca_lsp.traces import parse  # noqa: E402

MIXED = """\
2024-03-01T10:00:00.123Z app[12]: INFO request served in 12ms
Traceback (most recent call last):
  File "/srv/app/orders/views.py", line 31, in order_detail
    total = compute_total(order)
  File "/srv/app/orders/pricing.py", line 12, in compute_total
    return subtotal / order.discount
ZeroDivisionError: division by zero
java.lang.IllegalStateException: order 42 has no lines
\tat com.acme.shop.order.OrderService.total(OrderService.java:57)
\tat com.acme.shop.order.OrderController.get(OrderController.java:31)
Caused by: java.lang.ArithmeticException: / by zero
\tat com.acme.shop.order.Lines.avg(Lines.java:12)
\t... 2 more
TypeError: Cannot read properties of undefined (reading 'name')
    at formatUser (/home/ana/api/src/routes/users.js:27:31)
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)
panic: runtime error: index out of range [3] with length 3

goroutine 1 [running]:
main.main()
\t/home/ana/app/main.go:12 +0x1d
thread 'main' panicked at src/lib.rs:88:14:
index out of bounds
#0  0x0000555555555189 in list_push (list=0x0, value=3) at src/list.c:41
#1  0x00005555555552a4 in main () at src/main.c:18
some unrelated log line with words: and colons: 12: in between
"""

HOSTILE = (
    'File "' + "x" * 500 + '", line 1' + ", in " * 50 + "\n"
    + "at " + "a." * 300 + "(" * 50 + "\n"
    + "at f (" + "x:1:" * 200 + ")\n"
    + "___ " + "_ x " * 300 + "___\n"
    + "#1 " + " at " * 200 + "\n"
    + "\x1b[" + "1;" * 100 + "\n"
    + "E   " + "Error: " * 200 + "\n"
    + "--- FAIL: " + "T" * 500 + " (\n"
)


def _text(size: int, unit: str) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--hostile", action="store_true", help="near-miss lines instead of real traces")
    args = ap.parse_args()
    unit = HOSTILE if args.hostile else MIXED
    for mb in (1, 5, 10):
        text = _text(mb * 1_000_000, unit)
        start = time.perf_counter()
        try:
            count = len(parse(text))
        except TraceError:
            count = 0
        took = time.perf_counter() - start
        print(f"{mb:>3} MB  {took:7.2f} s  {took / mb:6.3f} s/MB  {count} traces")


if __name__ == "__main__":
    main()
