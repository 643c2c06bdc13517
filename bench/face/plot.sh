#!/usr/bin/env bash
# Draws docs/face-det.png: genuine vs impostor distance histograms and the DET curve (FNMR against FMR)
# from the scores bench/face/run evaluate writes (/tmp/face-pairs-scores.csv), plus DeepFace's
# published distances for the same photos (../shared/faces/deepface/face-recognition-pivot.csv).
# Installs Debian's python3-matplotlib with apt when it is missing.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."
scores=${1:-/tmp/face-pairs-scores.csv}
if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    apt-get install -y -q python3-matplotlib >/dev/null
fi
exec /usr/bin/python3 bench/face/plot.py "$scores" ../shared/faces/deepface/face-recognition-pivot.csv docs/face-det.png
