#!/bin/sh
# rca-lsp hook shim v1: installed by `rca hooks install`, removed by `rca hooks uninstall`.
# A hook that was here before is kept as post-merge.rca-chained and runs first, with the same input.
INSTALL_PYTHON=/path/to/venv/bin/python
HOOK=post-merge
HERE=$(dirname -- "$0")
if [ -x "$INSTALL_PYTHON" ]; then
    exec "$INSTALL_PYTHON" -m rca_lsp.hooks run "$HOOK" "$HERE" "$@"
fi
# rca's Python is gone: still run the chained hook, and never block anything.
if [ -x "$HERE/$HOOK.rca-chained" ]; then
    exec "$HERE/$HOOK.rca-chained" "$@"
fi
exit 0
