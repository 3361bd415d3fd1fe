#!/usr/bin/env bash
# Refreshes the editors' screenshots in their READMEs, from the end-to-end runs that check them:
#   extension/nvim/screenshot.png              scripts/e2e_nvim.py (Neovim in tmux, rendered by Chromium)
#   extension/vscode/screenshot.png            scripts/e2e_vscode.py (code-server in headless Chromium):
#   extension/vscode/screenshot-suspects.png   the lens and diagnostic on the frame line; the suspects
# A run whose checks fail leaves the old pictures in place (the new ones stay in its work folder).
#
#   bash scripts/screenshots.sh            # both editors
#   bash scripts/screenshots.sh nvim       # one of them: nvim | vscode
#
# Needs what the two scripts need: nvim, tmux, Chromium; for VS Code, code-server and
# puppeteer-core (installed by e2e_vscode.py on its first run into extension/vscode/.e2e/).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python="${PYTHON:-python}"
which="${1:-all}"
new="$(mktemp -d "${TMPDIR:-/tmp}/rca-shots.XXXXXX")"
status=0

if [ "$which" = all ] || [ "$which" = nvim ]; then
    echo "== Neovim"
    if "$python" "$here/e2e_nvim.py" --shot "$new/nvim.png"; then
        cp "$new/nvim.png" "$root/extension/nvim/screenshot.png"
    else
        status=1
    fi
fi
if [ "$which" = all ] || [ "$which" = vscode ]; then
    echo "== VS Code"
    mkdir -p "$new/vscode"
    if "$python" "$here/e2e_vscode.py" --shots "$new/vscode"; then
        cp "$new/vscode/screenshot.png" "$new/vscode/screenshot-suspects.png" "$root/extension/vscode/"
    else
        status=1
    fi
fi
ls -l "$root"/extension/nvim/*.png "$root"/extension/vscode/*.png 2>/dev/null || true
rm -rf "$new"
exit "$status"
