#!/bin/sh
# rca-lsp hook shim v6: installed by `rca hooks install`, removed by `rca hooks uninstall`.
# A hook that was here before is kept as post-merge.rca-chained and runs first, with the same input.
# With nothing to say now (no open failure, no background error to show, a plain .git folder), no
# Python runs while git waits: the chained hook runs, then the indexer starts detached.
INSTALL_PYTHON=/path/to/venv/bin/python
RCA_HOOKS='import sys; sys.path[:1] = [p for p in sys.path[:1] if p]; exec("try:\n    from rca_lsp.hooks import main\nexcept ImportError as exc:\n    import os\n    sys.stderr.write(\"rca: hooks skipped: %s cannot import rca_lsp (%s); reinstall rca-lsp for it, \"\n                     \"or remove the hooks (rca hooks uninstall)\\n\" % (sys.executable, exc))\n    args = sys.argv[1:]\n    if args[:1] == [\"run\"] and len(args) >= 3:\n        chained = os.path.join(args[2], args[1] + \".rca-chained\")\n        if os.access(chained, os.X_OK):  # as git, which runs no hook without its x bit\n            for head in ([chained], [\"/bin/sh\", chained]):\n                try:\n                    os.execv(head[0], head + args[3:])\n                except OSError:\n                    pass\n            sys.stderr.write(\"rca: cannot run %s\\n\" % chained)\n            sys.exit(127)\n    sys.exit(0)\nsys.exit(main())\n")'
HOOK=post-merge
case $0 in */*) HERE=${0%/*} ;; *) HERE=. ;; esac
CHAINED=$HERE/$HOOK.rca-chained
if [ ! -x "$INSTALL_PYTHON" ]; then
    # rca's Python is gone: still run the chained hook, and never block anything.
    if [ -x "$CHAINED" ]; then exec "$CHAINED" "$@"; fi
    exit 0
fi
if [ "$HOOK" = post-commit ] && ! git rev-parse -q --verify HEAD^2 >/dev/null 2>&1; then
    # One parent: nothing arrived. A merge (a pull that stopped on a conflict) is checked once committed.
    if [ -x "$CHAINED" ]; then exec "$CHAINED" "$@"; fi
    exit 0
fi
case ${GIT_DIR:-.git} in .git|"$PWD/.git") PLAIN=yes ;; *) PLAIN=no ;; esac
if [ $PLAIN = no ] || [ ! -d .git ] || [ -e .git/rca/open-failures ] || [ -e .git/rca/hooks.last-error ]; then
    exec "$INSTALL_PYTHON" -c "$RCA_HOOKS" run "$HOOK" "$HERE" "$@"
fi
STATUS=0
if [ -x "$CHAINED" ]; then "$CHAINED" "$@"; STATUS=$?; fi
case $HOOK in
    pre-push) exit $STATUS ;;  # no open failure: nothing to check
    post-checkout) [ "$3" = 1 ] && [ "$1" != "$2" ] || exit $STATUS ;;  # same commit, or files only
esac
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX GIT_OBJECT_DIRECTORY GIT_QUARANTINE_PATH
LOG=.git/rca/hooks.log  # where the indexer's own errors go (a Python that cannot start)
(: >>"$LOG") 2>/dev/null || LOG=/dev/null  # no rca folder yet, or a read-only one: hooks stay quiet
trap '' HUP INT QUIT  # inherited by the indexer until it leaves this session
"$INSTALL_PYTHON" -c "$RCA_HOOKS" index "$PWD" "$HOOK" </dev/null >/dev/null 2>>"$LOG" &
exit $STATUS
