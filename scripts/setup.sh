#!/usr/bin/env bash
# One-time (idempotent) set-up of a fresh machine for sedal:
#  - the SoX library that Scaper needs (Debian/Ubuntu: apt-get; elsewhere see README),
#  - headless Chromium + chromedriver for the annotation app's browser tests,
#  - a virtual environment in .venv with sedal and its test tools.
# Quiet unless something fails: the installers' output goes to .venv-setup.log, which is
# printed (its last 80 lines) when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
LOG=.venv-setup.log
: > "$LOG"

fail() {
  echo "setup: $1 failed; the last lines of $LOG:" >&2
  tail -n 80 "$LOG" >&2
  exit 1
}

SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"

# apt-get refuses to run while another apt/dpkg (e.g. unattended-upgrades) holds its lock:
# wait for it (up to 10 minutes), saying so, instead of failing.
apt_install() {
  local waited=0
  while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock \
        >/dev/null 2>&1; do
    if [ "$waited" = 0 ]; then
      echo "setup: waiting for another apt/dpkg process to finish (it holds the dpkg lock)" >&2
    fi
    sleep 5; waited=$((waited + 5))
    if [ "$waited" -ge 600 ]; then
      echo "setup: the dpkg lock is still held after 10 minutes; run again when it is free" >&2
      exit 1
    fi
  done
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >>"$LOG" 2>&1 || fail "apt-get update"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" \
    >>"$LOG" 2>&1 || fail "apt-get install $*"
}

need_sox=0
if ! ldconfig -p 2>/dev/null | grep -q "libsox.so"; then need_sox=1; fi
if [ ! -e /usr/include/sox.h ]; then need_sox=1; fi
if [ "$need_sox" = 1 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing SoX (sox, libsox-dev) with apt-get" >&2
    apt_install sox libsox-dev
  else
    echo "setup: SoX is missing; install sox and its headers (macOS: brew install sox)" >&2
    exit 1
  fi
fi

# Headless Chromium and its WebDriver for the annotation app's browser tests (Debian's
# packages; elsewhere install Chrome/Chromium + chromedriver and put them on PATH).
if ! command -v chromedriver >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing chromium and chromium-driver with apt-get (browser tests)" >&2
  apt_install chromium chromium-driver
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv >>"$LOG" 2>&1 || fail "creating .venv"
fi
echo "setup: installing sedal and its test tools into .venv (a few minutes the first time)" >&2
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >>"$LOG" 2>&1 \
  || fail "upgrading pip"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]" >>"$LOG" 2>&1 \
  || fail "pip install -e .[dev]"
# sed-scores-eval declares PyPI's "pathlib", a Python 2 backport whose pathlib.py shadows the
# standard library's wherever site-packages comes before it (e.g. on PYTHONPATH); Python 3
# has pathlib built in, so the backport is removed
.venv/bin/python -m pip uninstall -q -y pathlib >>"$LOG" 2>&1 || true
echo "setup: ready (.venv; activate it with: source .venv/bin/activate)" >&2
