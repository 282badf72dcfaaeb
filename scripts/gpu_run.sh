#!/usr/bin/env bash
# The GPU measurements of docs/benchmarks.md, run on a bare GPU machine from a copy of this
# working tree. The machine has PyTorch but neither the project's other packages nor the
# data, and no network: both travel with the tree (docs/gpu.md says how):
#   .whl/  wheels of dvc, dvclive, pydantic, ruamel.yaml, mnist1d and their needs (cp312)
#   .fm/   the four Fashion-MNIST .gz files (Debian's dataset-fashion-mnist)
# Usage: scripts/gpu_run.sh cuda|check|bench [archs [seeds]]|smoke|full   (results under $OUT, default ./gpu-out)
set -euo pipefail
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=/tmp/site:$PWD/src PATH=/tmp/site/bin:$PATH
export CUBLAS_WORKSPACE_CONFIG=:4096:8

setup() {
  if [ ! -d /tmp/site/dvc ]; then
    python3 -m pip install -q --no-index --no-deps --no-cache-dir --target /tmp/site .whl/*.whl
  fi
  mkdir -p data/raw/fashion-mnist && cp --update=none .fm/*.gz data/raw/fashion-mnist/
  sed -i 's#^  mirror: auto#  mirror: data/raw/fashion-mnist#' params.yaml
  sed -i 's#^device: auto#device: cuda#' params.yaml
  if [ ! -d .git ] && command -v git >/dev/null; then
    git init -q && git config user.name gpu && git config user.email gpu@localhost
    printf '/.whl/\n/.fm/\n/gpu-out/\n' >>.git/info/exclude
    git add -A && git commit -qm "working tree as sent" || true
  elif [ ! -d .git ]; then
    dvc config --local core.no_scm true
  fi
}

versions() {
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())"
}

stage_times() {
  # Every stage's record holds its wall time: one TSV row per stage output.
  python3 - <<'EOF'
import json, pathlib
for p in sorted(pathlib.Path("data").glob("**/metrics.json")):
    if p.parent.name in ("live",) or p.parent.name.endswith(".live"):
        d = json.loads(p.read_text())
        if "wall_seconds" in d:
            stage = str(p.parent.parent if p.parent.name == "live" else p.parent).removeprefix("data/")
            print(f"{stage}\t{d['wall_seconds']:.1f}")
EOF
}

repro() {  # $1 = profile
  sed -i "s#^profile: .*#profile: $1#" params.yaml
  local started=$SECONDS
  # REPRO_LIMIT (seconds) stops dvc between calls of a time-limited machine; rerun to go on.
  timeout "${REPRO_LIMIT:-86400}" dvc repro 2>&1 | tr '\r' '\n' | grep --line-buffered -v '^  \|it/s\|step/s\|epoch/s' |
    while IFS= read -r line; do printf '%5d %s\n' $((SECONDS - started)) "$line"; done | tee -a "$OUT/repro_$1.log" || true
  echo "total wall seconds: $((SECONDS - started))" | tee -a "$OUT/repro_$1.log"
  stage_times | tee "$OUT/stage_times_$1.tsv"
  tar czf "$OUT/reports_$1.tgz" reports dvc.lock params.yaml
  find data -path '*live*' -type f | tar czf "$OUT/records_$1.tgz" -T -
}

setup
case ${1:?cuda, check, bench, smoke or full} in
  cuda)
    versions | tee "$OUT/versions.txt"
    python3 -m pytest -q -p no:cacheprovider -m cuda tests/unit/test_cuda.py 2>&1 | tee "$OUT/pytest_cuda.log" || true
    ;;
  check)
    versions | tee "$OUT/versions.txt"
    python3 -m pytest -q -p no:cacheprovider -m cuda tests/unit/test_cuda.py 2>&1 | tee "$OUT/pytest_cuda.log" || true
    timeout 300 python3 -m pytest -q -p no:cacheprovider -x -m "not slow" -n 8 2>&1 | tee "$OUT/pytest_fast.log" | tail -30 || true
    ;;
  bench)  # [archs [seeds [extra bench options]]]
    python3 -m annstudy bench --arch "${2:-all}" --device cuda --seeds "${3:-10}" --steps 200 --cache data/bench \
      "${@:4}" 2>&1 | tee -a "$OUT/bench.log" ;;
  smoke) repro smoke ;;
  full) repro full ;;
esac
