#!/usr/bin/env bash
# Set up and run every check: lint, types, architecture, and the whole test suite.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" test
cd "$root"

# The browser tests drive Debian's Chromium; Playwright cannot download its own here.
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing Chromium for the browser tests"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "error: the browser tests need Chromium: sudo apt-get install chromium" \
            "(or set CHROMIUM_PATH)" >&2
        exit 1
    fi
fi

"$venv/bin/ruff" check
"$venv/bin/ruff" format --check
"$venv/bin/mypy"
"$venv/bin/lint-imports"
exec "$venv/bin/python" -m pytest "$@"
