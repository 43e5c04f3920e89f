"""Checks every ONNX file Harness exported with onnx's own checker (onnx.checker.check_model(..., full_check=True):
schema, opset, types and strict shape inference) and reports the IR version, the opsets, the graph's input and
output names and shapes and the op types used.

cases.json: [{"name", "file"}]; writes results.json {name: {"ok", "error", "ir_version", "opsets", "inputs",
"outputs", "ops", "metadata"}}."""
import json

import onnx

import harness_parity as h


def dims(value):
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in value.type.tensor_type.shape.dim]


folder = h.exchange_folder()
with open(h.path_in(folder, "cases.json")) as f:
    cases = json.load(f)

results = {"onnx_version": onnx.__version__}
for case in cases:
    model = onnx.load(h.path_in(folder, case["file"]))
    entry = {
        "ir_version": model.ir_version,
        "opsets": {op.domain or "ai.onnx": op.version for op in model.opset_import},
        "inputs": {v.name: dims(v) for v in model.graph.input},
        "outputs": {v.name: dims(v) for v in model.graph.output},
        "ops": sorted({n.op_type for n in model.graph.node}),
        "metadata": {p.key: p.value for p in model.metadata_props},
    }
    try:
        onnx.checker.check_model(model, full_check=True)
        entry["ok"], entry["error"] = True, ""
    except Exception as e:  # the checker's message is the test's failure message
        entry["ok"], entry["error"] = False, f"{type(e).__name__}: {e}"
    results[case["name"]] = entry

with open(h.path_in(folder, "results.json"), "w") as f:
    json.dump(results, f)
