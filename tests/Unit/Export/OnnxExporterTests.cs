using Harness.Export;
using Harness.Model;
using Harness.Model.Families;
using Harness.Tests.TestSupport;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Export;

public class OnnxExporterTests : TempDirectoryTest
{
    private const double Tolerance = 1e-4;

    private static readonly OnnxExportOptions Options = new()
    {
        ClassNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
        SourceSha256 = "ab12",
        HarnessVersion = "test",
        ImageSize = 32,
    };

    private static IEnumerable<TestCaseData> TinyKinds() =>
        from kind in Enum.GetValues<ExportKind>()
        from fold in new[] { true, false }
        select new TestCaseData(kind, fold).SetArgDisplayNames(kind.ToString(), fold ? "folded" : "unfolded");

    [TestCaseSource(nameof(TinyKinds))]
    public void TinyOnnxRuntimeLogitsEqualTorchSharpEvalLogitsAtTwoBatchSizes(ExportKind kind, bool fold) =>
        AssertParity(kind, ExportModels.Tiny, fold);

    [TestCase(ExportKind.Dense, true)]
    [TestCase(ExportKind.ChannelPruned, false)]
    public void B0OnnxRuntimeLogitsEqualTorchSharpEvalLogitsAtTwoBatchSizes(ExportKind kind, bool fold) =>
        AssertParity(kind, EfficientNetConfig.B0(10), fold);

    private static IEnumerable<TestCaseData> OtherArchitectures() =>
        from arch in Registry.BeyondEfficientNet
        from kind in Enum.GetValues<ExportKind>()
        from fold in new[] { true, false }
        where arch != "resnet50" || kind is ExportKind.ChannelPruned
        select new TestCaseData(arch, kind, fold).SetArgDisplayNames(arch, kind.ToString(), fold ? "folded" : "unfolded");

    /// <summary>Each family's graph writer (ReLU, MaxPool, Bottleneck and downsample shortcuts; ReLU6 as Clip, linear
    /// projections, inverted residual adds) gives TorchSharp's eval logits in ONNX Runtime.</summary>
    [TestCaseSource(nameof(OtherArchitectures))]
    public void ResNetAndMobileNetV2OnnxRuntimeLogitsEqualTorchSharpEvalLogits(string arch, ExportKind kind, bool fold) =>
        AssertParity(kind, Harness.Model.Networks.Architectures.Create(arch, 10), fold);

    [Test]
    public void HeightAndWidthAreDynamic()
    {
        using var model = ExportModels.Checkpoint(ExportKind.Dense, ExportModels.Tiny, Path.Combine(Dir, "m.pth"));
        using var session = OnnxRun.Session(OnnxExporter.ToBytes(model, Options));
        foreach (var (h, w) in new[] { (32L, 32L), (48L, 40L) })
        {
            using var x = randn(2, 3, h, w);
            using var expected = Eval(model, x);
            using var actual = OnnxRun.Logits(session, x);
            Assert.That(MaxAbs(expected, actual), Is.LessThanOrEqualTo(Tolerance), $"{h}×{w}");
        }
    }

    [Test]
    public void GraphDeclaresOpset17InputAndLogitsWithSymbolicBatch()
    {
        using var model = ExportModels.Checkpoint(ExportKind.Dense, ExportModels.Tiny, Path.Combine(Dir, "m.pth"));
        var proto = OnnxExporter.Build(model, Options);
        Assert.That(proto.IrVersion, Is.EqualTo(8));
        Assert.That(proto.OpsetImport.Single().Version, Is.EqualTo(17));
        Assert.That(proto.OpsetImport.Single().Domain, Is.Empty);
        var input = proto.Graph.Input.Single();
        Assert.That(input.Name, Is.EqualTo("input"));
        Assert.That(input.Type.TensorType.Shape.Dim.Select(d => d.HasDimParam ? d.DimParam : d.DimValue.ToString()),
            Is.EqualTo(new[] { "batch", "3", "height", "width" }));
        var output = proto.Graph.Output.Single();
        Assert.That(output.Name, Is.EqualTo("logits"));
        Assert.That(output.Type.TensorType.Shape.Dim.Select(d => d.HasDimParam ? d.DimParam : d.DimValue.ToString()),
            Is.EqualTo(new[] { "batch", "10" }));
    }

    [Test]
    public void FoldedGraphHasNoBatchNormalizationAndUnfoldedOneNodePerBatchNorm()
    {
        using var model = ExportModels.Checkpoint(ExportKind.Dense, ExportModels.Tiny, Path.Combine(Dir, "m.pth"));
        int batchNorms = model.modules().OfType<TorchSharp.Modules.BatchNorm2d>().Count();
        var folded = OnnxExporter.Build(model, Options).Graph.Node;
        var unfolded = OnnxExporter.Build(model, Options with { FoldBatchNorm = false }).Graph.Node;
        Assert.That(folded.Count(n => n.OpType == "BatchNormalization"), Is.Zero);
        Assert.That(unfolded.Count(n => n.OpType == "BatchNormalization"), Is.EqualTo(batchNorms));
        Assert.That(folded.Select(n => n.OpType).Distinct(),
            Is.EquivalentTo(new[] { "Conv", "Sigmoid", "Mul", "Add", "GlobalAveragePool", "Flatten", "Gemm" }));
        int residuals = model.Blocks.Count(b => b.UseResidual);
        Assert.That(folded.Count(n => n.OpType == "Add"), Is.EqualTo(residuals));
    }

    [Test]
    public void MetadataCarriesClassesImageSizeNormalisationSourceAndVersion()
    {
        using var model = ExportModels.Checkpoint(ExportKind.Dense, ExportModels.Tiny, Path.Combine(Dir, "m.pth"));
        using var session = OnnxRun.Session(OnnxExporter.ToBytes(model, Options));
        var meta = session.ModelMetadata.CustomMetadataMap;
        Assert.That(meta[OnnxMetadataKeys.ClassNames], Does.StartWith("[\"airplane\",\"automobile\""));
        Assert.That(meta[OnnxMetadataKeys.ImageSize], Is.EqualTo("32"));
        Assert.That(meta[OnnxMetadataKeys.Mean], Is.EqualTo("[0.485,0.456,0.406]"));
        Assert.That(meta[OnnxMetadataKeys.Std], Is.EqualTo("[0.229,0.224,0.225]"));
        Assert.That(meta[OnnxMetadataKeys.SourceSha256], Is.EqualTo("ab12"));
        Assert.That(meta[OnnxMetadataKeys.HarnessVersion], Is.EqualTo("test"));
        Assert.That(meta[OnnxMetadataKeys.BatchNorm], Is.EqualTo("folded"));
    }

    [Test]
    public void ClassNamesThatDoNotMatchTheHeadAreRefused()
    {
        using var model = ExportModels.Checkpoint(ExportKind.Dense, ExportModels.Tiny, Path.Combine(Dir, "m.pth"));
        var ex = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(model, Options with { ClassNames = ["a", "b"] }));
        Assert.That(ex!.Message, Does.Contain("10 classes"));
    }

    [Test]
    public void WriteIsAtomicAndLeavesNoTemporary()
    {
        using var model = ExportModels.Checkpoint(ExportKind.Dense, ExportModels.Tiny, Path.Combine(Dir, "m.pth"));
        string path = Path.Combine(Dir, "m.onnx");
        OnnxExporter.Write(model, path, Options);
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(OnnxExporter.ToBytes(model, Options)));
        Assert.That(Directory.GetFiles(Dir).Where(f => Harness.Storage.Files.AtomicFile.IsTemporary(f)), Is.Empty);
    }

    private void AssertParity(ExportKind kind, EfficientNetConfig config, bool fold) =>
        AssertParity(kind, EfficientNetWidths.FromConfig(config), fold);

    private void AssertParity(ExportKind kind, Harness.Model.Networks.INetworkWidths widths, bool fold)
    {
        using var model = ExportModels.Checkpoint(kind, widths, Path.Combine(Dir, "m.pth"));
        Assert.That(ModelLoader.IsMasked(model), Is.EqualTo(kind == ExportKind.Masked), "the checkpoint read back keeps its masks");
        using var session = OnnxRun.Session(OnnxExporter.ToBytes(model, Options with { FoldBatchNorm = fold }));
        double worst = 0;
        foreach (long batch in new[] { 1L, 4L })
        {
            manual_seed(batch);
            using var x = randn(batch, 3, 32, 32);
            using var expected = Eval(model, x);
            using var actual = OnnxRun.Logits(session, x);
            Assert.That(actual.shape, Is.EqualTo(expected.shape), $"batch {batch}");
            using (var spread = expected.std())
                Assert.That(spread.item<float>(), Is.GreaterThan(1e-2), "logits that differ between classes and samples");
            worst = Math.Max(worst, MaxAbs(expected, actual));
        }
        TestContext.Out.WriteLine($"max |Δ| {kind} {(fold ? "folded" : "unfolded")}: {worst:E2}");
        Assert.That(worst, Is.LessThanOrEqualTo(Tolerance));
    }

    private static Tensor Eval(Harness.Model.Networks.IPrunableNetwork model, Tensor x)
    {
        using var _ = no_grad();
        model.Module.eval();
        return model.Module.call(x);
    }

    private static double MaxAbs(Tensor a, Tensor b)
    {
        using var d = (a - b).abs().max();
        return d.item<float>();
    }
}
