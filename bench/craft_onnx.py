"""Writes hostile ONNX files for bench/integrity-replay.sh, each next to nothing else it could reach:
usage: craft_onnx.py OUT_FOLDER
A small valid CNN (Conv, BatchNormalization, Relu, GlobalAveragePool, Flatten, Gemm) is the base; each case breaks
one thing an importer must check."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def base(nodes=None, inits=None, inputs=None):
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "conv.weight")
    bn = [numpy_helper.from_array(v.astype(np.float32), f"bn.{n}") for n, v in
          (("weight", np.ones(8)), ("bias", np.zeros(8)), ("running_mean", np.zeros(8)), ("running_var", np.ones(8)))]
    fc = numpy_helper.from_array(rng.standard_normal((10, 8)).astype(np.float32), "fc.weight")
    fcb = numpy_helper.from_array(np.zeros(10, np.float32), "fc.bias")
    nodes = nodes if nodes is not None else [
        helper.make_node("Conv", ["input", "conv.weight"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"], ["b"], name="bn"),
        helper.make_node("Relu", ["b"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(nodes, "crafted", inputs or [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
                              initializer=(inits if inits is not None else [w, *bn, fc, fcb]))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def save(model, folder, name):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(model.SerializeToString())


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    good = base()
    save(good, out, "valid.onnx")
    data = good.SerializeToString()
    with open(os.path.join(out, "truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(os.path.join(out, "not-onnx.onnx"), "w") as f:
        f.write("this is not a model\n" * 100)
    for name, location in (("external-outside", "../../../../etc/passwd"), ("external-absolute", "/etc/hostname"),
                           ("external-missing", "weights.bin")):
        m = base()
        t = m.graph.initializer[0]
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", "0"), ("length", str(8 * 3 * 3 * 3 * 4))):
            e = t.external_data.add()
            e.key, e.value = k, v
        save(m, out, f"{name}.onnx")
    m = base()  # external data inside the model's folder is read
    t = m.graph.initializer[0]
    with open(os.path.join(out, "valid-external.bin"), "wb") as f:
        f.write(b"\0" * 16 + t.raw_data)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "valid-external.bin"), ("offset", "16"), ("length", str(8 * 3 * 3 * 3 * 4))):
        e = t.external_data.add()
        e.key, e.value = k, v
    save(m, out, "valid-external.onnx")
    m = base()
    t = m.graph.initializer[0]
    t.ClearField("raw_data")
    del t.dims[:]
    t.dims.extend([1 << 40, 1 << 20, 3, 3])
    save(m, out, "absurd-dims.onnx")
    m = base()
    t = m.graph.initializer[0]
    t.ClearField("raw_data")
    del t.dims[:]
    t.dims.extend([8, 3, 4096, 4096])  # 2 GiB declared, no bytes
    save(m, out, "declared-2gb.onnx")
    nodes = list(base().graph.node)
    nodes[0] = helper.make_node("Conv", ["r", "conv.weight"], ["c"], name="conv", pads=[1, 1, 1, 1])  # reads a later output
    save(base(nodes=nodes), out, "cyclic.onnx")
    nodes = list(base().graph.node)
    nodes[2] = helper.make_node("Relu", ["nowhere"], ["r"], name="relu")
    save(base(nodes=nodes), out, "dangling.onnx")
    nodes = list(base().graph.node)
    nodes.insert(3, helper.make_node("Relu", ["r"], ["r"], name="again"))
    save(base(nodes=nodes), out, "duplicate-output.onnx")
    m = base()
    m.graph.initializer.append(m.graph.initializer[0])
    save(m, out, "duplicate-initializer.onnx")
    nodes = list(base().graph.node)
    nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], name="softmax"))
    m = base(nodes=nodes)
    m.graph.output[0].name = "probs"
    save(m, out, "unsupported-op.onnx")
    m = base(inputs=[helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 1 << 20, 1 << 20])])
    save(m, out, "absurd-input.onnx")


if __name__ == "__main__":
    main()
