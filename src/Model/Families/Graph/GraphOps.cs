using static TorchSharp.torch;

namespace Harness.Model.Families;

/// <summary>
/// The operators a <see cref="GraphNetwork"/> runs, with their checks and their TorchSharp forward. Names and
/// semantics are ONNX's (opset 8–17) except for the three parametrised ones: <c>Conv</c> (ONNX Conv),
/// <c>BatchNorm</c> (BatchNormalization; PyTorch's train/eval semantics) and <c>Linear</c> (Gemm, or MatMul by a
/// constant, with the weight as <c>torch.nn.Linear</c> holds it).
/// </summary>
public static class GraphOps
{
    /// <summary>Operators with tensors of their own.</summary>
    public static readonly IReadOnlySet<string> Parametrised = new HashSet<string>(StringComparer.Ordinal) { "Conv", "BatchNorm", "Linear" };

    /// <summary>Every operator of the vocabulary, in the order messages list them.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        "Conv", "BatchNorm", "Linear", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish",
        "Add", "Sub", "Mul", "Div", "GlobalAveragePool", "AveragePool", "MaxPool", "ReduceMean", "Flatten",
        "Reshape", "Squeeze", "Unsqueeze", "Concat", "Split", "Pad", "Dropout", "Identity", "Shape", "Gather", "Cast",
    ];

    private static readonly HashSet<string> Known = new(All, StringComparer.Ordinal);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the node when its operator is unknown or its
    /// attributes or arity are out of range.</summary>
    public static void Check(GraphNode node)
    {
        string at = $"node '{node.Name}' ({node.Op})";
        if (!Known.Contains(node.Op))
            throw new ArgumentException($"{at}: unknown operator (supported: {string.Join(", ", All)})");
        (int min, int max) = node.Op switch
        {
            "Add" or "Sub" or "Mul" or "Div" or "Gather" => (2, 2),
            "Reshape" => (1, 2),
            "Concat" => (1, 4096),
            _ => (1, 1),
        };
        if (node.Inputs.Length < min || node.Inputs.Length > max)
            throw new ArgumentException($"{at}: takes {min}–{max} inputs, has {node.Inputs.Length}");
        int outputs = node.Op == "Split" ? node.IntList("split")?.Length ?? (int)node.Int("parts", 0) : 1;
        if (node.Outputs.Length != outputs || outputs < 1)
            throw new ArgumentException($"{at}: has {node.Outputs.Length} outputs, expected {Math.Max(outputs, 1)}");
        bool parametrised = Parametrised.Contains(node.Op);
        if (parametrised != (node.Module is not null))
            throw new ArgumentException(parametrised ? $"{at}: names no module" : $"{at}: names a module but has no tensors");
        if (parametrised)
        {
            int rank = node.Op switch { "Conv" => 4, "Linear" => 2, _ => 1 };
            if (node.Shape is null || node.Shape.Length != rank || node.Shape.Any(d => d is < 1 or > 1 << 17))
                throw new ArgumentException($"{at}: its shape must be {rank} numbers in 1–{1 << 17}, got [{string.Join(", ", node.Shape ?? [])}]");
        }
        switch (node.Op)
        {
            case "Conv":
                Geometry(node).Validate();
                if (node.Int("group", 1) is < 1 or > 1 << 17) throw new ArgumentException($"{at}: group out of range");
                break;
            case "AveragePool" or "MaxPool":
                Kernel(node, "kernel");
                Kernel(node, "strides");
                if (Pads(node) is not { Length: 4 } poolPads || poolPads.Any(p => p is < 0 or > 64))
                    throw new ArgumentException($"{at}: pads must be four numbers in 0–64 (top, left, bottom, right)");
                if (node.Op == "MaxPool" && node.IntList("dilations") is { } dilations && (dilations.Length != 2 || dilations.Any(d => d is < 1 or > 64)))
                    throw new ArgumentException($"{at}: dilations must be two numbers in 1–64");
                break;
            case "BatchNorm":
                if (node.Float("epsilon", 1e-5) is <= 0 or > 1 || node.Float("momentum", 0.1) is < 0 or > 1)
                    throw new ArgumentException($"{at}: epsilon or momentum out of range");
                break;
            case "Split":
                if ((node.IntList("split") ?? []).Any(s => s is < 0 or > 1 << 20) || outputs > 4096) throw new ArgumentException($"{at}: split sizes out of range");
                break;
            case "Pad":
                if (node.IntList("pads") is not { } pads || pads.Any(p => p is < -4096 or > 4096))
                    throw new ArgumentException($"{at}: pads missing or out of range");
                break;
            case "Reshape" when node.Inputs.Length == 1:
                if (node.IntList("shape") is not { Length: >= 1 and <= 8 } shape || shape.Any(s => s is < -1 or > 1 << 30))
                    throw new ArgumentException($"{at}: shape missing or out of range");
                break;
        }
        foreach (var list in node.Ints?.Values ?? [])
            if (list.Length > 64) throw new ArgumentException($"{at}: an attribute has {list.Length} numbers");
    }

    /// <summary>The Conv geometry a node states (kernel from its weight shape).</summary>
    public static Harness.Model.Layers.ConvGeometry Geometry(GraphNode node) =>
        new([node.Shape![2], node.Shape[3]], node.IntList("strides") ?? [1, 1], node.IntList("pads") ?? [0, 0, 0, 0],
            node.IntList("dilations") ?? [1, 1], node.Int("auto_pad", 0) switch { 1 => "SAME_UPPER", 2 => "SAME_LOWER", 3 => "VALID", _ => "NOTSET" });

    private static long[] Kernel(GraphNode node, string name)
    {
        var k = node.IntList(name) ?? (name == "strides" ? [1, 1] : null);
        if (k is not { Length: 2 } || k.Any(v => v is < 1 or > 4096))
            throw new ArgumentException($"node '{node.Name}' ({node.Op}): {name} must be two numbers in 1–4096");
        return k;
    }

    private static long[] Pads(GraphNode node) => node.IntList("pads") ?? [0, 0, 0, 0];

    /// <summary>Runs a parameter-free operator. <paramref name="constant"/> tells which inputs are constants (an
    /// image-sized constant meets an input of another size by its per-channel mean).</summary>
    public static Tensor[] Run(GraphNode node, Tensor[] x, bool training, long[] declaredInput, Func<int, bool> constant)
    {
        switch (node.Op)
        {
            case "Relu": return [nn.functional.relu(x[0])];
            case "Clip": return [x[0].clamp(node.Float("min", double.NegativeInfinity), node.Float("max", double.PositiveInfinity))];
            case "LeakyRelu": return [nn.functional.leaky_relu(x[0], node.Float("alpha", 0.01))];
            case "Sigmoid": return [x[0].sigmoid()];
            case "HardSigmoid":
                {
                    double alpha = node.Float("alpha", 0.2), beta = node.Float("beta", 0.5);
                    using var scaled = x[0].mul(alpha).add_(beta);
                    return [scaled.clamp(0.0, 1.0)];
                }
            case "HardSwish": return [nn.functional.hardswish(x[0])];
            case "Add" or "Sub" or "Mul" or "Div":
                {
                    var (a, b) = Broadcastable(x[0], x[1], constant, declaredInput);
                    try
                    {
                        return [node.Op switch { "Add" => a.add(b), "Sub" => a.sub(b), "Mul" => a.mul(b), _ => a.div(b) }];
                    }
                    finally
                    {
                        if (!ReferenceEquals(a, x[0])) a.Dispose();
                        if (!ReferenceEquals(b, x[1])) b.Dispose();
                    }
                }
            case "GlobalAveragePool": return [nn.functional.adaptive_avg_pool2d(x[0], [1, 1])];
            case "AveragePool": return [AveragePool(node, x[0])];
            case "MaxPool": return [MaxPool(node, x[0])];
            case "ReduceMean":
                {
                    var axes = node.IntList("axes") ?? Enumerable.Range(0, (int)x[0].dim()).Select(i => (long)i).ToArray();
                    return [x[0].mean(axes, keepdim: node.Int("keepdims", 1) != 0)];
                }
            case "Flatten":
                {
                    long axis = Axis(node.Int("axis", 1), x[0].dim() + 1);
                    long rows = x[0].shape.Take((int)axis).Aggregate(1L, (p, d) => p * d);
                    return [x[0].reshape(rows, -1)];
                }
            case "Reshape": return [x[0].reshape(ReshapeTarget(node, x))];
            case "Squeeze": return [Squeeze(x[0], node.IntList("axes"))];
            case "Unsqueeze": return [Unsqueeze(x[0], node.IntList("axes")!)];
            case "Concat": return [cat(x, Axis(node.Int("axis", 1), x[0].dim()))];
            case "Split":
                {
                    long axis = Axis(node.Int("axis", 0), x[0].dim());
                    long parts = node.Int("parts", 0);
                    var sizes = node.IntList("split") ?? Enumerable.Repeat((x[0].shape[axis] + parts - 1) / parts, (int)parts)
                        .Select((s, i) => i < parts - 1 ? s : x[0].shape[axis] - s * (parts - 1)).ToArray();
                    return x[0].split(sizes, axis);
                }
            case "Pad":
                {
                    var pads = node.IntList("pads")!;
                    int rank = pads.Length / 2;
                    // ONNX: begins of every axis, then ends; torch: (begin, end) pairs from the last axis backwards.
                    var torchPads = new long[pads.Length];
                    for (int i = 0; i < rank; i++)
                    {
                        torchPads[2 * i] = pads[rank - 1 - i];
                        torchPads[2 * i + 1] = pads[2 * rank - 1 - i];
                    }
                    return [nn.functional.pad(x[0], torchPads, value: node.Float("value", 0.0))];
                }
            case "Dropout":
                {
                    double ratio = node.Float("ratio", 0.5);
                    return [training && ratio > 0 ? nn.functional.dropout(x[0], ratio, true) : x[0].alias()];
                }
            case "Identity": return [x[0].alias()];
            case "Shape":
                {
                    long rank = x[0].dim();
                    long start = Math.Clamp(node.Int("start", 0) < 0 ? node.Int("start", 0) + rank : node.Int("start", 0), 0, rank);
                    long end = Math.Clamp(node.Int("end", rank) < 0 ? node.Int("end", rank) + rank : node.Int("end", rank), 0, rank);
                    return [tensor(x[0].shape[(int)start..(int)Math.Max(start, end)], int64)];
                }
            case "Gather": return [Gather(x[0], x[1], node.Int("axis", 0))];
            case "Cast": return [x[0].to(node.Int("to", 1) == 7 ? int64 : node.Int("to", 1) == 6 ? int32 : float32)];
            default:
                throw new InvalidOperationException($"node '{node.Name}': {node.Op} is not a parameter-free operator");
        }
    }

    /// <summary>ONNX's Gather: <paramref name="index"/>'s entries (negative from the end) along the axis, the index's
    /// shape taking the axis' place.</summary>
    public static Tensor Gather(Tensor data, Tensor index, long axis)
    {
        long a = Axis(axis, data.dim());
        using var indices = index.to(int64);
        using var wrapped = indices.lt(0).to(int64).mul(data.shape[a]).add(indices);
        if (wrapped.dim() == 0) return data.select(a, wrapped.item<long>());
        using var flat = wrapped.flatten();
        using var picked = data.index_select(a, flat);
        return picked.reshape([.. data.shape[..(int)a], .. wrapped.shape, .. data.shape[((int)a + 1)..]]);
    }

    /// <summary>ONNX's Unsqueeze: a dimension of one inserted at each axis (of the result's rank).</summary>
    public static Tensor Unsqueeze(Tensor x, long[] axes)
    {
        long rank = x.dim() + axes.Length;
        var y = x.alias();
        foreach (long a in axes.Select(a => Axis(a, rank)).Order())
        {
            var next = y.unsqueeze(a);
            y.Dispose();
            y = next;
        }
        return y;
    }

    /// <summary>ONNX's Squeeze: the given axes (every dimension of one when none is given) removed.</summary>
    public static Tensor Squeeze(Tensor x, long[]? axes)
    {
        if (axes is null || axes.Length == 0) return x.squeeze();
        var y = x.alias();
        foreach (long a in axes.Select(a => Axis(a, x.dim())).OrderDescending())
        {
            var next = y.squeeze(a);
            y.Dispose();
            y = next;
        }
        return y;
    }

    /// <summary>The operands of an elementwise operator. A constant with the declared input's height and width met by a
    /// tensor of another size (the ML.NET preprocessing's 224×224 mean image on a 32×32 batch) is replaced by its
    /// per-channel mean over height and width.</summary>
    private static (Tensor A, Tensor B) Broadcastable(Tensor a, Tensor b, Func<int, bool> constant, long[] declaredInput)
    {
        if (Fits(a.shape, b.shape)) return (a, b);
        if (constant(1) && ImageSized(b.shape, declaredInput)) return (a, b.mean([-2, -1], keepdim: true));
        if (constant(0) && ImageSized(a.shape, declaredInput)) return (a.mean([-2, -1], keepdim: true), b);
        throw new InvalidOperationException($"shapes [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}] do not broadcast");
    }

    private static bool ImageSized(long[] shape, long[] declared) =>
        shape.Length >= 2 && shape[^2] == declared[1] && shape[^1] == declared[2];

    private static bool Fits(long[] a, long[] b)
    {
        for (int i = 1; i <= Math.Min(a.Length, b.Length); i++)
            if (a[^i] != b[^i] && a[^i] != 1 && b[^i] != 1) return false;
        return true;
    }

    private static long Axis(long axis, long rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.Max(rank, 1)) throw new InvalidOperationException($"axis {axis} is out of range for rank {rank}");
        return a;
    }

    private static long[] ReshapeTarget(GraphNode node, Tensor[] x)
    {
        long[] shape;
        if (x.Length > 1)
        {
            using var s = x[1].to(int64).cpu();
            shape = s.data<long>().ToArray();
        }
        else shape = node.IntList("shape")!;
        var target = (long[])shape.Clone();
        bool allowZero = node.Int("allowzero", 0) != 0;
        for (int i = 0; i < target.Length; i++)
            if (target[i] == 0 && !allowZero) target[i] = x[0].shape[i];
        // A constant shape written for the exported batch (torch.onnx with a batch of one) keeps the batch at run time.
        if (x.Length == 1 && node.Int("batch_dim", 0) == 1 && target.Length > 0) target[0] = x[0].shape[0];
        return target;
    }

    private static Tensor MaxPool(GraphNode node, Tensor x)
    {
        var k = node.IntList("kernel")!;
        var s = node.IntList("strides") ?? [1, 1];
        var p = Pads(node);
        var d = node.IntList("dilations") ?? [1, 1];
        bool ceil = node.Int("ceil_mode", 0) != 0;
        if (p[0] == p[2] && p[1] == p[3] && p[0] * 2 <= k[0] && p[1] * 2 <= k[1])
            return nn.functional.max_pool2d(x, k, s, [p[0], p[1]], d, ceil);
        using var padded = nn.functional.pad(x, [p[1], p[3], p[0], p[2]], value: double.NegativeInfinity);
        return nn.functional.max_pool2d(padded, k, s, [0, 0], d, ceil);
    }

    private static Tensor AveragePool(GraphNode node, Tensor x)
    {
        var k = node.IntList("kernel")!;
        var s = node.IntList("strides") ?? [1, 1];
        var p = Pads(node);
        bool ceil = node.Int("ceil_mode", 0) != 0;
        bool includePad = node.Int("count_include_pad", 0) != 0;
        if (p[0] == p[2] && p[1] == p[3] && p[0] * 2 <= k[0] && p[1] * 2 <= k[1])
            return nn.functional.avg_pool2d(x, k, s, [p[0], p[1]], ceil, includePad);
        using var scope = NewDisposeScope();
        long[] torchPads = [p[1], p[3], p[0], p[2]];
        var padded = nn.functional.pad(x, torchPads);
        var sums = nn.functional.avg_pool2d(padded, k, s, [0, 0], ceil, true).mul(k[0] * k[1]);
        if (includePad) return sums.div(k[0] * k[1]).MoveToOuterDisposeScope();
        var ones = nn.functional.pad(ones_like(x[..1, ..1]), torchPads);
        var counts = nn.functional.avg_pool2d(ones, k, s, [0, 0], ceil, true).mul(k[0] * k[1]);
        return sums.div(counts).MoveToOuterDisposeScope();
    }
}
