#!/usr/bin/env bash
# int8 against float on a trained network, on the complete CIFAR-10 test set: ML.NET's ImageNet ResNet-18 fine-tuned
# at 96 px (1 epoch of 12,000 training images, stages 0-2 frozen), and that network channel-pruned at 0.5 (L1,
# round_to 8) and fine-tuned 1 epoch of 6,000 images at lr 0.001; each exported as float and as int8 with the three
# calibrations (8 batches of 16 training images), all evaluated in ONNX Runtime on the 10,000 test images.
# About 55 minutes on 2 cores (most of it the two fine-tunings).
#   bash bench/int8-accuracy.sh [OUT]      (data: ../shared/cifar10-jpeg, or HARNESS_CIFAR10_JPEG)
#   SMOKE=1 bash bench/int8-accuracy.sh    (a few minutes: 64/32 training images, 200 test images; checks the script)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
data=${HARNESS_CIFAR10_JPEG:-$repo/../shared/cifar10-jpeg}
out=${1:-/tmp/harness-int8-accuracy}
mkdir -p "$out/eval"
echo "out $out; data $data; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet publish "$repo/src/Cli" -c Release -o "$out/bin" -v q >/dev/null
H=$out/bin/harness
base_subset=12000 ft_subset=6000 val=1000 test=()
if [ "${SMOKE:-0}" = 1 ]; then base_subset=64 ft_subset=32 val=32 test=(--test-subset 200); fi
"$H" train --weights mlnet-resnet18 --data "$data" --image-size 96 --batch-size 64 --train-subset $base_subset --val-subset $val \
  --epochs 1 --out "$out" --device cpu --name base
"$H" prune channel --weights "$out/models/base.pth" --ratio 0.5 --out "$out/pruned/channel_0.5.pth" --force
"$H" train --weights "$out/pruned/channel_0.5.pth" --data "$data" --image-size 96 --batch-size 64 --train-subset $ft_subset \
  --val-subset $val --epochs 1 --lr 0.001 --name channel_0.5 --out "$out" --device cpu
printf '| model | runtime | calibration | test accuracy %% | test loss |\n| --- | --- | --- | ---: | ---: |\n' > "$out/int8-accuracy.md"
for m in base channel_0.5; do
  "$H" export onnx --weights "$out/models/$m.pth" --out "$out/onnx/$m.onnx" --image-size 96 --force
  runs=("float:")
  for c in minmax percentile entropy; do
    "$H" export onnx --weights "$out/models/$m.pth" --out "$out/onnx/$m.int8.$c.onnx" --image-size 96 --int8 --data "$data" \
      --calibration "$c" --force
    runs+=("int8:$c")
  done
  for r in "${runs[@]}"; do
    kind=${r%%:*} c=${r#*:}
    file=$out/onnx/$m.onnx label=${m}_float
    if [ "$kind" = int8 ]; then file=$out/onnx/$m.int8.$c.onnx label=${m}_int8_$c; fi
    "$H" evaluate --weights "$file" --data "$data" --image-size 96 --batch-size 100 "${test[@]}" --out "$out/eval" --name "$label" --json \
      > "$out/eval/$label.json"
    /usr/bin/python3 - "$out/eval/$label.json" "$m" "$kind" "${c:--}" >> "$out/int8-accuracy.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]} | ONNX Runtime {sys.argv[3]} | {sys.argv[4]} | {100 * r['accuracy']:.2f} | {r['loss']:.4f} |")
PY
  done
done
cat "$out/int8-accuracy.md"
