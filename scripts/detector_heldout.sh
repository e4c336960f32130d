#!/usr/bin/env bash
# The held-out evaluation of the detector presets (issue 27): the paper and field presets on
# real-sources datasets of dataset seeds 5-9, which no selection has seen (the field preset
# was chosen on seeds 0-4: sedal.sed.provenance). Resumable (cells kept in OUT/cells/).
#
#   bash scripts/detector_heldout.sh [DATA [OUT]]   (defaults: data/difficulty results/heldout)
#
# Builds and embeds the 500-file datasets it needs (SNR 0, r 0.2 and 1.0; then SNR +-10 dB).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-data/difficulty}
OUT=${2:-results/heldout}
SB=${SEDBENCH:-.venv/bin/sedbench}
SRC=../shared/real-sources
$SB detectors --sources "$SRC" --data "$DATA" --out "$OUT" --jobs 2 --options paper,field \
    --seeds 5-9
$SB detectors --sources "$SRC" --data "$DATA" --out "$OUT" --jobs 2 --options paper,field \
    --seeds 5-9 --snrs 10,-10
