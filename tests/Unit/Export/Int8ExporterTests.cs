using Google.Protobuf;
using Harness.Export;
using Harness.Export.Quantization;
using Harness.Model.Families;
using Harness.Model.Networks;
using Harness.OnnxSchema;
using Harness.Tests.TestSupport;
using Microsoft.ML.OnnxRuntime;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Export;

/// <summary>The QDQ export of every family and checkpoint kind: ONNX Runtime runs every Conv and Gemm as an integer
/// kernel, the logits stay close to the float export's, pruned zeros stay exactly zero, the metadata says what was
/// done.</summary>
public class Int8ExporterTests : TempDirectoryTest
{
    private static readonly OnnxExportOptions Options = new()
    {
        ClassNames = [.. Enumerable.Range(0, 10).Select(i => $"c{i}")],
        ImageSize = 32,
    };

    private static IEnumerable<TestCaseData> Cases() =>
        from network in new[] { "tiny_b0", "resnet18", "mobilenet_v2" }
        from kind in Enum.GetValues<ExportKind>()
        where network == "tiny_b0" || kind is ExportKind.Dense or ExportKind.ChannelPruned
        select new TestCaseData(network, kind).SetArgDisplayNames(network, kind.ToString());

    private static INetworkWidths Widths(string network) => network == "tiny_b0"
        ? EfficientNetWidths.FromConfig(ExportModels.Tiny)
        : Architectures.Create(network, 10);

    /// <summary>Seeded N(0, 1) batches at 32 px (what a normalised image's pixels look like).</summary>
    private static IReadOnlyList<(float[] Data, int[] Shape)> Images(int seed, int batches = 4, int n = 8)
    {
        manual_seed(seed);
        return Enumerable.Range(0, batches).Select(_ =>
        {
            using var x = randn(n, 3, 32, 32);
            return (x.data<float>().ToArray(), new[] { n, 3, 32, 32 });
        }).ToList();
    }

    private IPrunableNetwork Model(string network, ExportKind kind) =>
        ExportModels.Checkpoint(kind, Widths(network), Path.Combine(Dir, "m.pth"), seed: 5);

    /// <summary>After ONNX Runtime's graph optimisation, no float Conv, Gemm, Add or MaxPool is left: every one became
    /// QLinearConv, QGemm, QLinearAdd, NhwcMaxPool (the QDQ pairs were placed where ORT's fusions look for them).</summary>
    [TestCaseSource(nameof(Cases))]
    public void OnnxRuntimeRunsEveryConvGemmAndAddAsAnIntegerKernel(string network, ExportKind kind)
    {
        using var model = Model(network, kind);
        var floatGraph = OnnxExporter.Build(model, Options);
        var int8 = Int8Exporter.Build(model, Options, new QuantizationOptions(), Images(1), 1);
        var optimized = Optimized(int8.ToByteArray());
        var ops = optimized.Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        Assert.That(ops.Keys, Has.None.AnyOf("Conv", "Gemm", "Add", "MaxPool", "DequantizeLinear", "FusedConv"), string.Join(", ", ops));
        Assert.That(ops.GetValueOrDefault("QLinearConv"), Is.EqualTo(floatGraph.Graph.Node.Count(n => n.OpType == "Conv")));
        Assert.That(ops.GetValueOrDefault("QGemm"), Is.EqualTo(1));
        Assert.That(ops.GetValueOrDefault("QLinearAdd"), Is.EqualTo(floatGraph.Graph.Node.Count(n => n.OpType == "Add")));
        Assert.That(ops.GetValueOrDefault("QuantizeLinear"), Is.EqualTo(1), "only the float input is quantized; every activation after it stays uint8");
    }

    /// <summary>
    /// int8 logits against the float export's on images calibration did not see: relative error ‖Δ‖/‖float − mean‖ ≤ 0.1
    /// and the same top-1 class for ≥ 90% of them. Why these bounds: each quantized tensor adds rounding noise of
    /// about step/√12 ≈ range/880 per value (0.1% of its range); over the 20–70 quantized tensors of these networks,
    /// adding in quadrature and amplified where a range is much wider than the values' spread, that stays at a few
    /// percent of the logits' spread (measured 1–3.5%); random-weight networks have small margins between classes, so
    /// the arg-max may flip for a few images. A wrong scale, a dropped bias or a misplaced zero point gives errors of
    /// order 1 and agreement near chance (10%).
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void Int8LogitsStayCloseToTheFloatExport(string network, ExportKind kind)
    {
        using var model = Model(network, kind);
        var floatBytes = OnnxExporter.ToBytes(model, Options);
        var int8Bytes = Int8Exporter.ToBytes(model, Options, new QuantizationOptions(), Images(1), 1);
        using var f = OnnxRun.Session(floatBytes);
        using var q = OnnxRun.Session(int8Bytes);
        double errorSq = 0, normSq = 0;
        int agree = 0, total = 0;
        foreach (var (data, shape) in Images(2, batches: 4))
        {
            using var x = tensor(data, shape.Select(d => (long)d).ToArray());
            using var a = OnnxRun.Logits(f, x);
            using var b = OnnxRun.Logits(q, x);
            errorSq += (a - b).pow(2).sum().item<float>();
            normSq += (a - a.mean([1], keepdim: true)).pow(2).sum().item<float>();
            agree += (int)a.argmax(1).eq(b.argmax(1)).sum().item<long>();
            total += shape[0];
        }
        double relative = Math.Sqrt(errorSq / normSq);
        TestContext.Out.WriteLine($"{network} {kind}: relative logit error {relative:F3}, top-1 agreement {agree}/{total}");
        Assert.That(relative, Is.LessThanOrEqualTo(0.1));
        Assert.That(agree, Is.GreaterThanOrEqualTo(0.9 * total));
    }

    /// <summary>A fine-grained pruned network (masked or made permanent): every weight that is zero in the float
    /// export is exactly zero in the int8 initializers (symmetric, zero point 0), so the sparsity survives.</summary>
    [TestCase(ExportKind.Masked)]
    [TestCase(ExportKind.Permanent)]
    public void PrunedZerosStayExactlyZero(ExportKind kind)
    {
        using var model = Model("tiny_b0", kind);
        var floatGraph = OnnxExporter.Build(model, Options);
        var int8 = Int8Exporter.Build(model, Options, new QuantizationOptions(), Images(1), 1);
        var int8Weights = int8.Graph.Initializer.Where(t => t.Name.EndsWith("/int8", StringComparison.Ordinal)).ToDictionary(t => t.Name[..^5]);
        int checkedLayers = 0;
        long zeros = 0;
        foreach (var node in floatGraph.Graph.Node.Where(n => n.OpType is "Conv" or "Gemm"))
        {
            var w = floatGraph.Graph.Initializer.Single(t => t.Name == node.Input[1]);
            var values = MemoryMarshal.Cast<byte, float>(w.RawData.Span).ToArray();
            var quantized = int8Weights[w.Name];
            var q = MemoryMarshal.Cast<byte, sbyte>(quantized.RawData.Span).ToArray();
            // The stem's int8 weight has zero input channels appended (3 → 4): index the float weight's positions.
            long outputs = w.Dims[0], channels = w.Dims.Count > 1 ? w.Dims[1] : 1, widened = quantized.Dims.Count > 1 ? quantized.Dims[1] : 1;
            long kernel = values.Length / (outputs * channels);
            Assert.That(q, Has.Length.EqualTo(outputs * widened * kernel));
            for (int i = 0; i < values.Length; i++)
                if (values[i] == 0)
                {
                    long o = i / (channels * kernel), rest = i % (channels * kernel);
                    Assert.That(q[o * widened * kernel + rest], Is.Zero, $"{w.Name}[{i}]");
                    zeros++;
                }
            checkedLayers++;
        }
        Assert.That(checkedLayers, Is.GreaterThan(5));
        Assert.That(zeros, Is.GreaterThan(1000), "the pruned network has zeros to keep");
    }

    /// <summary>A Conv whose input channels are not a multiple of 4 (every network's RGB stem) reads its quantized
    /// input zero-padded to 4 channels with zero weights there, so ONNX Runtime runs it in its symmetric VNNI kernel;
    /// it computes what the unpadded int8 Conv computes: the logits of the graph with the padding cut back out
    /// (weights sliced, Pad removed) agree to within the integer kernels' requantization rounding.</summary>
    [TestCase("resnet18")]
    [TestCase("mobilenet_v2")]
    public void AStemsInputChannelsArePaddedToFourWithZeroWeights(string network)
    {
        using var model = Model(network, ExportKind.Dense);
        var int8 = Int8Exporter.Build(model, Options, new QuantizationOptions(), Images(1), 1);
        var pad = int8.Graph.Node.Single(n => n.OpType == "Pad");
        Assert.That(pad.Input[0], Is.EqualTo("input/q"), "the image's quantized channels are the ones padded");
        Assert.That(pad.Input[2], Is.EqualTo("input/zero_point"), "padded with the zero point: the new channel dequantizes to 0");
        var dq = int8.Graph.Node.Single(n => n.OpType == "DequantizeLinear" && n.Input[0] == pad.Output[0]);
        var stem = int8.Graph.Node.Single(n => n.OpType == "Conv" && n.Input[0] == dq.Output[0]);
        var weightDq = int8.Graph.Node.Single(n => n.Output[0] == stem.Input[1]);
        var weight = int8.Graph.Initializer.Single(t => t.Name == weightDq.Input[0]);
        Assert.That(weight.Dims[1], Is.EqualTo(4));
        var q = MemoryMarshal.Cast<byte, sbyte>(weight.RawData.Span).ToArray();
        long kernel = weight.Dims[2] * weight.Dims[3];
        for (long o = 0; o < weight.Dims[0]; o++)
            Assert.That(q.Skip((int)((o * 4 + 3) * kernel)).Take((int)kernel), Has.All.Zero, $"output channel {o}: the padded channel's weights");
        Assert.That(Optimized(int8.ToByteArray()).Graph.Node.Count(n => n.OpType == "QLinearConv"), Is.EqualTo(OnnxExporter.Build(model, Options).Graph.Node.Count(n => n.OpType == "Conv")));

        // The same model without the padding: the stem reads input/q's DequantizeLinear, its weights cut to 3 channels.
        var unpadded = int8.Clone();
        var u = unpadded.Graph;
        u.Node.Remove(u.Node.Single(n => n.OpType == "Pad"));
        u.Node.Single(n => n.OpType == "DequantizeLinear" && n.Input[0] == pad.Output[0]).Input[0] = "input/q";
        var w3 = u.Initializer.Single(t => t.Name == weight.Name);
        var cut = Enumerable.Range(0, (int)weight.Dims[0]).SelectMany(o => q.Skip((int)(o * 4 * kernel)).Take((int)(3 * kernel))).ToArray();
        w3.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(cut.AsSpan()));
        w3.Dims[1] = 3;
        double relative = RelativeLogitDifference(unpadded.ToByteArray(), int8.ToByteArray());
        TestContext.Out.WriteLine($"{network}: padded against unpadded stem, relative logit difference {relative:G3}");
        Assert.That(relative, Is.LessThan(0.02), "the same integer convolution, run by another kernel (requantization may round a step apart)");
    }

    [Test]
    public void ReluAndRelu6AreFoldedIntoTheRangesBeforeThem()
    {
        using var resnet = Model("resnet18", ExportKind.Dense);
        var r = Int8Exporter.Build(resnet, Options, new QuantizationOptions(), Images(1, batches: 1), 1);
        Assert.That(r.Graph.Node.Count(n => n.OpType == "Relu"), Is.Zero);
        using var mobile = Model("mobilenet_v2", ExportKind.Dense);
        var m = Int8Exporter.Build(mobile, Options, new QuantizationOptions(), Images(1, batches: 1), 1);
        Assert.That(m.Graph.Node.Count(n => n.OpType == "Clip"), Is.Zero);
        // The tensors a ReLU6 read are encoded from 0: zero point 0, so uint8 saturation does the clamping.
        var floatGraph = OnnxExporter.Build(mobile, Options);
        var clipped = floatGraph.Graph.Node.Where(n => n.OpType == "Clip").Select(n => n.Input[0]).ToList();
        Assert.That(clipped, Has.Count.GreaterThan(10));
        foreach (string t in clipped)
        {
            var q = m.Graph.Node.Single(n => n.OpType == "QuantizeLinear" && n.Input[0] == t);
            Assert.That(m.Graph.Initializer.Single(i => i.Name == q.Input[2]).RawData[0], Is.Zero, t);
        }
    }

    [Test]
    public void MetadataRecordsTheSchemeAndTheCalibration()
    {
        using var model = Model("tiny_b0", ExportKind.Dense);
        var bytes = Int8Exporter.ToBytes(model, Options, new QuantizationOptions
        {
            Method = CalibrationMethod.Percentile,
            Percentile = 99.99,
            CalibrationSource = "synthetic",
        }, Images(1, batches: 2), 1);
        using var session = OnnxRun.Session(bytes);
        var meta = session.ModelMetadata.CustomMetadataMap;
        Assert.That(meta[OnnxMetadataKeys.Quantization], Is.EqualTo(Int8Exporter.Scheme));
        Assert.That(meta[OnnxMetadataKeys.Calibration], Is.EqualTo("{\"method\":\"percentile\",\"percentile\":99.99,\"histogramBins\":2048,\"images\":16,\"source\":\"synthetic\"}"));
        Assert.That(meta[OnnxMetadataKeys.BatchNorm], Is.EqualTo("folded"));
        Assert.That(meta[OnnxMetadataKeys.ClassNames], Does.StartWith("[\"c0\""));
    }

    /// <summary>Percentile and entropy never widen a range beyond what min/max observed, on every calibrated tensor.</summary>
    [Test]
    public void HistogramMethodsStayInsideTheObservedRanges()
    {
        using var model = Model("tiny_b0", ExportKind.Dense);
        var floatGraph = OnnxExporter.Build(model, Options);
        var tensors = QdqRewriter.TensorsToCalibrate(floatGraph);
        var minmax = OnnxCalibrator.Ranges(floatGraph, tensors, Images(1, batches: 2), new QuantizationOptions(), 1);
        foreach (var method in new[] { CalibrationMethod.Percentile, CalibrationMethod.Entropy })
        {
            var ranges = OnnxCalibrator.Ranges(floatGraph, tensors, Images(1, batches: 2), new QuantizationOptions { Method = method }, 1);
            Assert.That(ranges.Keys, Is.EquivalentTo(minmax.Keys));
            foreach (var (t, (lo, hi)) in ranges)
                Assert.That(lo >= minmax[t].Lo - 1e-9 && hi <= minmax[t].Hi + 1e-9 && lo <= 0 && hi >= 0, Is.True,
                    $"{method} {t}: [{lo}, {hi}] against [{minmax[t].Lo}, {minmax[t].Hi}]");
        }
    }

    /// <summary>An imported network (ML.NET's ImageNet ResNet-18 with its preprocessing graph, a 10-class head):
    /// every Conv and Add of the graph runs as an integer kernel, and its int8 logits stay close to the float export's
    /// (the bound of <see cref="Int8LogitsStayCloseToTheFloatExport"/>).</summary>
    [Test]
    public void AnImportedNetworkQuantizesLikeADeclaredOne()
    {
        _ = MlNetResNet.Model;
        using var model = Harness.Model.Import.PretrainedOnnx.Import(10, 1);
        model.Module.eval();
        var floatGraph = OnnxExporter.Build(model, Options);
        var int8 = Int8Exporter.Build(model, Options, new QuantizationOptions(), Images(1), 1);
        var ops = Optimized(int8.ToByteArray()).Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        Assert.That(ops.Keys, Has.None.AnyOf("Conv", "FusedConv", "DequantizeLinear"), string.Join(", ", ops));
        Assert.That(ops.GetValueOrDefault("QLinearConv"), Is.EqualTo(floatGraph.Graph.Node.Count(n => n.OpType == "Conv")));
        double relative = RelativeLogitDifference(floatGraph.ToByteArray(), int8.ToByteArray());
        TestContext.Out.WriteLine($"ML.NET ResNet-18: relative logit error {relative:F3}; ops {string.Join(", ", ops.Select(kv => $"{kv.Key} {kv.Value}"))}");
        Assert.That(relative, Is.LessThanOrEqualTo(0.1));
    }

    /// <summary>‖b − a‖ / ‖a − its per-image mean‖ over the logits of one batch of unseen images, each model run by
    /// ONNX Runtime.</summary>
    private static double RelativeLogitDifference(byte[] reference, byte[] other)
    {
        using var f = OnnxRun.Session(reference);
        using var q = OnnxRun.Session(other);
        var (data, shape) = Images(2)[0];
        using var x = tensor(data, shape.Select(d => (long)d).ToArray());
        using var a = OnnxRun.Logits(f, x);
        using var b = OnnxRun.Logits(q, x);
        return ((a - b).norm() / (a - a.mean([1], keepdim: true)).norm()).item<float>();
    }

    private ModelProto Optimized(byte[] model)
    {
        string path = Path.Combine(Dir, $"optimized-{Guid.NewGuid():N}.onnx");
        using (var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            OptimizedModelFilePath = path,
        })
        using (new InferenceSession(model, options)) { }
        return ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
    }
}
