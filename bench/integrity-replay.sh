#!/usr/bin/env bash
# Replays the inputs listed in the integrity issue against a Release build of Harness. One row per case: the exit
# code (0 or 2 expected), the number of lines on stderr (1 for an error), the peak resident memory (/usr/bin/time),
# and whether any file appeared outside the case's --out folder. Needs Debian's python3-torch for the crafted files.
#   bash bench/integrity-replay.sh            (data: ../shared/cifar10-sample)
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
data=${HARNESS_SAMPLE:-$repo/../shared/cifar10-sample}
work=$(mktemp -d /tmp/harness-replay.XXXXXX)
echo "work folder $work; data $data; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet publish "$repo/src/Cli" -c Release -o "$work/bin" -v q >/dev/null || exit 1
H=$work/bin/harness
mkdir -p "$work/in"
"$H" prune channel --weights none --ratio 0.5 --out "$work/in/base.pth" >/dev/null || exit 1
/usr/bin/python3 "$repo/bench/craft_checkpoints.py" "$work/in/crafted" "$work/in/base.pth" >/dev/null || exit 1
/usr/bin/python3 -c "
import torch, torchvision
torch.save(torchvision.models.efficientnet_b0(num_classes=1000).state_dict(), '$work/in/thousand.pth')" || exit 1

bad=0
printf '%-34s %4s %6s %8s %s\n' case exit lines 'RSS MB' 'outside --out'
case_() { # case_ NAME EXPECTED_EXIT ARGS...
  local name=$1 expected=$2; shift 2
  local cwd=$work/cases/$name
  mkdir -p "$cwd"
  ( cd "$cwd" && /usr/bin/time -f %M -o "$cwd/.rss" "$H" "$@" >"$cwd/.out" 2>"$cwd/.err" ); local rc=$?
  local lines rss outside
  lines=$(grep -c . "$cwd/.err")
  rss=$(( $(tail -1 "$cwd/.rss") / 1024 ))
  outside=$(cd "$cwd" && find . -mindepth 1 -not -name '.rss' -not -name '.out' -not -name '.err' -not -path './out' -not -path './out/*' | head -3 | tr '\n' ' ')
  printf '%-34s %4s %6s %8s %s\n' "$name" "$rc" "$lines" "$rss" "${outside:-none}"
  [ "$rc" = "$expected" ] && [ "$rss" -lt 1536 ] && [ -z "$outside" ] && { [ "$rc" = 0 ] || [ "$lines" = 1 ]; } || { bad=$((bad+1)); sed 's/^/    /' "$cwd/.err" | tail -3; }
  [ "$rc" = 0 ] || sed 's/^/    /' "$cwd/.err" | head -1
}
for f in "$work"/in/crafted/*.pth; do
  case_ "load-$(basename "$f" .pth)" 2 evaluate --weights "$f" --data "$data" --image-size 32 --test-subset 50
done
# Hostile ONNX files (bench/craft_onnx.py): refused in one line by the import and wherever --weights takes one.
/usr/bin/python3 "$repo/bench/craft_onnx.py" "$work/in/onnx" >/dev/null || exit 1
for f in "$work"/in/onnx/*.onnx; do
  name=$(basename "$f" .onnx)
  expected=2; case "$name" in valid*) expected=0 ;; esac
  case_ "import-$name" "$expected" import onnx "$f" --out out/model.pth
  # evaluate runs a .onnx file in ONNX Runtime by default; --runtime torch takes the import's path.
  case_ "evaluate-$name" "$expected" evaluate --weights "$f" --runtime torch --data "$data" --image-size 32 --test-subset 50 --out out
done
# ONNX Runtime's path: a model with a fixed batch of one runs in batches of one; a fixed image size of another size is one line.
case_ evaluate-ort-valid 0 evaluate --weights "$work/in/onnx/valid.onnx" --data "$data" --image-size 32 --test-subset 50 --out out
case_ evaluate-ort-absurd-input 2 evaluate --weights "$work/in/onnx/absurd-input.onnx" --data "$data" --image-size 32 --test-subset 50 --out out
case_ metrics-size-100000-runs-0 2 metrics --image-size 100000 --runs 0 --out out
case_ evaluate-image-size-0 2 evaluate --image-size 0 --data "$data"
case_ train-lr-1e308 2 train --lr 1e308 --data "$data" --weights none --out out
case_ train-lr-infinity 2 train --lr Infinity --data "$data" --weights none --out out
small=(--data "$data" --weights none --image-size 32 --batch-size 32 --train-subset 64 --val-subset 32)
case_ train-lr-1000-diverges 2 train "${small[@]}" --epochs 1 --lr 1000 --out out
case_ train-name-escape 2 train "${small[@]}" --epochs 1 --name ../../escape --out out
case_ train-name-absolute 2 train "${small[@]}" --epochs 1 --name /abs/path --out out
cp "$work/in/base.pth" "$work/in/self.pth"
case_ prune-out-equals-weights 2 prune fine-grained --weights "$work/in/self.pth" --out "$work/in/self.pth"
case_ train-data-missing 2 train --data ./no-such-folder --weights none --out out
case_ train-data-is-a-file 2 train --data /etc/hostname --weights none --out out
case_ evaluate-1000-class-head 2 evaluate --weights "$work/in/thousand.pth" --data "$data" --image-size 32
case_ evaluate-test-subset-0 2 evaluate --test-subset 0 --data "$data"
case_ train-train-subset-0 2 train --train-subset 0 --data "$data" --out out
# A second train into a folder holding a model, a resume with other settings, and the same with --force.
mkdir -p "$work/cases/rerun"
( cd "$work/cases/rerun" && "$H" train "${small[@]}" --epochs 1 --out out >/dev/null 2>&1 )
case_ rerun 2 train "${small[@]}" --epochs 1 --out "$work/cases/rerun/out"
case_ rerun 2 train "${small[@]}" --epochs 1 --out "$work/cases/rerun/out" --resume --lr 0.02
case_ rerun 0 train "${small[@]}" --epochs 1 --out "$work/cases/rerun/out" --resume --lr 0.02 --force
# Two concurrent runs into one --out: the second refuses with the first one's pid.
mkdir -p "$work/cases/concurrent"
# exec: the background job's pid is Harness's own, so that the kill below reaches it (SIGTERM: it stops cleanly).
( cd "$work/cases/concurrent" && exec "$H" train "${small[@]}" --epochs 30 --out out >/dev/null 2>&1 ) & first=$!
for _ in $(seq 100); do [ -f "$work/cases/concurrent/out/.harness.lock" ] && break; sleep 0.2; done
case_ concurrent 2 train "${small[@]}" --epochs 1 --out "$work/cases/concurrent/out"
kill $first 2>/dev/null; wait $first; echo "the first run, sent SIGTERM: exit $? (143 expected)"
# A sweep rerun with another --test-subset and another --base-model.
sweep=(sweep --data "$data" --image-size 32 --batch-size 32 --pruning channel --ratios 0.5 --channel-epochs 0 --runs 1 --device cpu)
mkdir -p "$work/cases/sweep"
cp "$work/in/base.pth" "$work/in/other.pth" && "$H" prune channel --weights none --ratio 0.6 --out "$work/in/other.pth" --force >/dev/null
( cd "$work/cases/sweep" && "$H" "${sweep[@]}" --base-model "$work/in/base.pth" --test-subset 100 --out out >/dev/null 2>&1 )
case_ sweep 2 "${sweep[@]}" --base-model "$work/in/base.pth" --test-subset 200 --out "$work/cases/sweep/out"
case_ sweep 2 "${sweep[@]}" --base-model "$work/in/other.pth" --test-subset 100 --out "$work/cases/sweep/out"
case_ sweep 0 "${sweep[@]}" --base-model "$work/in/base.pth" --test-subset 100 --out "$work/cases/sweep/out"
leftovers=$(find "$work/cases" -name '*.tmp' -o -name '*.partial' | head -3)
echo "temporary files left: ${leftovers:-none}"
echo "$bad case(s) off expectation"
rm -rf "$work"
exit $((bad > 0))
