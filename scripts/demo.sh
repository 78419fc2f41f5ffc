#!/usr/bin/env bash
# Set up and run the whole system on embedded defaults, with demo users. Ctrl-C stops it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$root"
exec "$venv/bin/fruits" demo "$@"
