#!/usr/bin/env bash
# Rebuild the scan-benchmark corpus from pinned, hash-checked PyPI wheels.
#
#   bash benchmarks/make_corpus.sh [BIG_DIR] [SMALL_DIR]
#
# Defaults: /tmp/asyncfix-corpus (~127 MB of .py as measured by du) and
# /tmp/asyncfix-corpus-small (~15 MB). Both live outside the repo on purpose:
# they are throwaway, must never be committed, and must not be git work trees
# (flake8-async's standalone mode switches to `git ls-files` inside a repo).
#
# Only .py files are kept; each package lands in its own <dist>-<version>/ dir.
# The wheels are pinned to CPython 3.11 / manylinux x86_64 tags so every
# machine downloads byte-identical files (the hashes are checked by pip).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIG="${1:-/tmp/asyncfix-corpus}"
SMALL="${2:-/tmp/asyncfix-corpus-small}"
PYTHON="${PYTHON:-python3}"

# The small corpus is the pure async-framework subset of the big one.
SMALL_PKGS="aiohttp starlette fastapi httpx anyio trio uvicorn sanic tornado redis motor aiobotocore langchain_core"

for dir in "$BIG" "$SMALL"; do
    # rm -rf below: only ever on a previous corpus (nothing but .py files) ...
    if [ -e "$dir" ] && [ -n "$(find "$dir" -type f ! -name '*.py' -print -quit)" ]; then
        echo "refusing: $dir exists and holds non-.py files" >&2; exit 1
    fi
    # ... and never inside a git work tree (.gitignore rules would skew ruff).
    parent="$(dirname "$dir")"
    if [ -d "$parent" ] && git -C "$parent" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        echo "refusing: $dir is inside a git work tree" >&2; exit 1
    fi
done

WHEELS="$(mktemp -d)"
trap 'rm -rf "$WHEELS"' EXIT

"$PYTHON" -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
    --python-version 3.11 --implementation cp --abi cp311 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    -r "$HERE/corpus-requirements.txt" -d "$WHEELS"

rm -rf "$BIG" "$SMALL"
mkdir -p "$BIG" "$SMALL"

# Unpack only the .py members of each wheel into BIG/<dist>-<version>/.
"$PYTHON" - "$WHEELS" "$BIG" <<'EOF'
import pathlib, sys, zipfile
wheels, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for whl in sorted(wheels.glob("*.whl")):
    dist, version = whl.name.split("-")[:2]
    with zipfile.ZipFile(whl) as zf:
        members = [m for m in zf.namelist() if m.endswith(".py")]
        zf.extractall(dest / f"{dist.lower()}-{version}", members)
EOF

for pkg in $SMALL_PKGS; do
    cp -r "$BIG/$pkg"-* "$SMALL/"
done

for dir in "$BIG" "$SMALL"; do
    files=$(find "$dir" -name '*.py' | wc -l)
    size=$(find "$dir" -name '*.py' -print0 | du -ch --files0-from=- | tail -1 | cut -f1)
    echo "$dir: $files .py files, $size (du)"
done
