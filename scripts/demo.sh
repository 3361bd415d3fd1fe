#!/usr/bin/env bash
# Run the main job on a real example.
#
# Builds the `datespan` demo repository (scripts/demo_repo.py: 40 commits by four people,
# one of which, "Speed up month_span with a table of month lengths", broke century leap
# years), indexes it with `rca index`, runs the developer's new failing test into
# failure.txt, asks `rca suspects` which commits broke it, and says where rca put the
# real culprit.
#
#   bash scripts/demo.sh            # in a new temporary directory
#   bash scripts/demo.sh DIR        # DIR must be new or empty
#
# Needs `rca` (pip install -e .), git and pytest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python}"
now() { "$python" -c 'import time; print(time.time())'; }
started="$(now)"

if [ $# -ge 1 ]; then
    target="$1"
else
    target="$(mktemp -d "${TMPDIR:-/tmp}/rca-demo.XXXXXX")"
fi

echo "== building the demo repository"
info="$("$python" "$here/demo_repo.py" --print-culprit "$target")"
field() { printf '%s' "$info" | "$python" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
repo="$(field repo)"
culprit="$(field culprit)"
test_file="$(field test)"
echo "$repo: $(git -C "$repo" rev-list --count HEAD) commits; new, uncommitted test: $test_file"
cd "$repo"

echo
echo "== rca index"
rca index

echo
echo "== python -m pytest -x -q $test_file"
python -m pytest -x -q "$test_file" 2>&1 | tee failure.txt || true

echo
echo "== rca suspects --trace failure.txt"
rca suspects --trace failure.txt

echo
echo "== the real culprit"
rca suspects --trace failure.txt --format json --top 0 | "$python" -c '
import json, sys
culprit = sys.argv[1]
result = json.load(sys.stdin)
rank = next((s["rank"] for s in result["suspects"] if s["commit"] == culprit), None)
summary = next((s["summary"] for s in result["suspects"] if s["commit"] == culprit), "?")
print(f"culprit: {culprit[:10]}  {summary}")
total = result["candidates"]
if rank is None:
    print(f"rca did not rank it among {total} candidate commits")
else:
    print(f"rca ranked it #{rank} of {total} candidate commits")
' "$culprit"

finished="$(now)"
"$python" -c 'import sys; print(f"demo took {float(sys.argv[2]) - float(sys.argv[1]):.1f} s; the repository is in {sys.argv[3]}")' \
    "$started" "$finished" "$repo"
