#!/usr/bin/env bash
# One-time (idempotent) set-up of a fresh machine for sedal:
#  - the SoX library that Scaper needs (Debian/Ubuntu: apt-get; elsewhere see README),
#  - a virtual environment in .venv with sedal and its test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

need_sox=0
if ! ldconfig -p 2>/dev/null | grep -q "libsox.so"; then need_sox=1; fi
if [ ! -e /usr/include/sox.h ]; then need_sox=1; fi
if [ "$need_sox" = 1 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
    echo "setup: installing SoX (sox, libsox-dev) with apt-get" >&2
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq sox libsox-dev >/dev/null
  else
    echo "setup: SoX is missing; install sox and its headers (macOS: brew install sox)" >&2
    exit 1
  fi
fi

# Headless Chromium and its WebDriver for the annotation app's browser tests (Debian's
# packages; elsewhere install Chrome/Chromium + chromedriver and put them on PATH).
if ! command -v chromedriver >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
  echo "setup: installing chromium and chromium-driver with apt-get (browser tests)" >&2
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[dev]"
echo "setup: ready (.venv)" >&2
