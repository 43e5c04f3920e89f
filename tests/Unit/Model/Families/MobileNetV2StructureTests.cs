using Harness.Model.Channels;
using Harness.Model.Families;
using Harness.Storage.Checkpoints;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Model.Families;

public class MobileNetV2StructureTests
{
    private static Dictionary<string, long[]> Shapes(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);

    // Expected numbers from torchvision 0.14:
    // /usr/bin/python3 -c "import torchvision; m=torchvision.models.mobilenet_v2(num_classes=10); print(sum(p.numel() for p in m.parameters()))"
    // (3,504,872 with the 1000-class head); the state-dict key count is len(m.state_dict()).
    [TestCase(10, 2_236_682, 314)]
    [TestCase(1000, 3_504_872, 314)]
    public void ParameterAndStateDictCountsMatchTorchvision(int classes, long parameters, int keys)
    {
        using var model = new MobileNetV2(MobileNetV2Widths.MobileNetV2(classes));
        Assert.That(model.parameters().Sum(p => p.numel()), Is.EqualTo(parameters));
        Assert.That(model.state_dict().Count, Is.EqualTo(keys));
    }

    [Test]
    public void TorchvisionNamesAndShapesOfBothBlockLayouts()
    {
        using var model = new MobileNetV2(MobileNetV2Widths.MobileNetV2(10));
        var keys = StateDictOrder.Ordered(model).Select(kv => kv.Key).ToList();
        var shapes = Shapes(model);
        Assert.Multiple(() =>
        {
            Assert.That(keys[0], Is.EqualTo("features.0.0.weight"));
            Assert.That(keys.Where(k => k.StartsWith("features.1.", StringComparison.Ordinal) && k.EndsWith(".weight", StringComparison.Ordinal)),
                Is.EqualTo(new[] { "features.1.conv.0.0.weight", "features.1.conv.0.1.weight", "features.1.conv.1.weight", "features.1.conv.2.weight" }));
            Assert.That(keys.Where(k => k.StartsWith("features.2.", StringComparison.Ordinal) && k.EndsWith(".weight", StringComparison.Ordinal)),
                Is.EqualTo(new[]
                {
                    "features.2.conv.0.0.weight", "features.2.conv.0.1.weight", "features.2.conv.1.0.weight",
                    "features.2.conv.1.1.weight", "features.2.conv.2.weight", "features.2.conv.3.weight",
                }));
            Assert.That(shapes["features.1.conv.0.0.weight"], Is.EqualTo(new long[] { 32, 1, 3, 3 }));
            Assert.That(shapes["features.2.conv.0.0.weight"], Is.EqualTo(new long[] { 96, 16, 1, 1 }));
            Assert.That(shapes["features.17.conv.2.weight"], Is.EqualTo(new long[] { 320, 960, 1, 1 }));
            Assert.That(shapes["features.18.0.weight"], Is.EqualTo(new long[] { 1280, 320, 1, 1 }));
            Assert.That(keys[^2..], Is.EqualTo(new[] { "classifier.1.weight", "classifier.1.bias" }));
            Assert.That(model.Blocks.Count(b => b.UseResidual), Is.EqualTo(10));
            Assert.That(model.Blocks.Select(b => b.Widths.Stride), Is.EqualTo(new[] { 1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1 }));
            Assert.That(model.Stem.Activation, Is.InstanceOf<TorchSharp.Modules.ReLU6>());
        });
    }

    [Test]
    public void LogitsHaveOneRowPerImageAndOneColumnPerClassAt32And64()
    {
        manual_seed(3);
        using var model = new MobileNetV2(MobileNetV2Widths.MobileNetV2(10));
        model.eval();
        using var _ = no_grad();
        foreach (int size in new[] { 32, 64 })
        {
            using var y = model.call(randn(2, 3, size, size));
            Assert.That(y.shape, Is.EqualTo(new long[] { 2, 10 }), $"{size} px");
            Assert.That(y.isfinite().all().item<bool>(), Is.True);
        }
    }

    [Test]
    public void WeightShapesOfWidthsAreTheShapesOfTheBuiltNetwork()
    {
        using var model = new MobileNetV2(MobileNetV2Widths.MobileNetV2(10));
        var built = model.PrunableLayers().ToDictionary(l => $"{l.Name}.weight", l => l.Layer.Weight.shape);
        Assert.That(model.Widths.WeightShapes(), Is.EquivalentTo(built));
    }

    [Test]
    public void WidthsRebuildFromStateDictShapesMaskedOrPruned()
    {
        using (var model = new MobileNetV2(MobileNetV2Widths.MobileNetV2(10)))
            Assert.That(MobileNetV2Widths.FromStateDictShapes(Shapes(model)), Is.EqualTo(MobileNetV2Widths.MobileNetV2(10)));
        var pruned = MobileNetV2Widths.MobileNetV2(10).WithSpaceWidths(new Dictionary<string, int>
        {
            ["stem"] = 24,
            ["block 2 expand"] = 50,
            ["block 3 out"] = 20,
            ["block 12 expand"] = 300,
            ["head"] = 1000,
        });
        using var prunedModel = new MobileNetV2(pruned);
        foreach (var (_, layer) in prunedModel.PrunableLayers().Take(4))
            layer.ApplyMask(ones_like(layer.Weight));
        var shapes = Shapes(prunedModel);
        Assert.That(shapes.Keys, Has.Some.EndsWith(".weight_orig"));
        Assert.That(MobileNetV2Widths.FromStateDictShapes(shapes), Is.EqualTo(pruned));
    }

    [TestCase("features.0.0.weight", new long[] { 32 }, TestName = "MobileNetV2StemWeightOfRankOneIsAFormatError")]
    [TestCase("features.5.conv.1.0.weight", new long[0], TestName = "MobileNetV2DepthwiseWeightOfRankZeroIsAFormatError")]
    [TestCase("classifier.1.weight", new long[] { 1L << 40, 1280 }, TestName = "MobileNetV2WidthBeyondInt32IsAFormatError")]
    public void WidthsFromBadShapesAreAFormatErrorNamingTheKey(string key, long[] shape)
    {
        using var model = new MobileNetV2(MobileNetV2Widths.MobileNetV2(10));
        var shapes = Shapes(model);
        shapes[key] = shape;
        var ex = Assert.Throws<InvalidDataException>(() => MobileNetV2Widths.FromStateDictShapes(shapes));
        Assert.That(ex!.Message, Does.Contain(key));
    }

    [Test]
    public void StateDictWithAnotherNumberOfBlocksIsRefused()
    {
        using var model = new MobileNetV2(MobileNetV2Widths.MobileNetV2(10));
        var shapes = Shapes(model).Where(kv => !kv.Key.StartsWith("features.17.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        var ex = Assert.Throws<InvalidDataException>(() => MobileNetV2Widths.FromStateDictShapes(shapes));
        Assert.That(ex!.Message, Does.Contain("features.1–17"));
    }

    private static IEnumerable<TestCaseData> Refusals()
    {
        var w = MobileNetV2Widths.MobileNetV2(10);
        MobileNetV2Widths Block(int i, Func<InvertedResidualWidths, InvertedResidualWidths> change) =>
            w with { Blocks = w.Blocks.Select((b, j) => j == i ? change(b) : b).ToList() };
        yield return new TestCaseData(w with { Stem = 0 }, "Stem").SetName("MobileNetV2RefusesAnEmptyStem");
        yield return new TestCaseData(w with { Head = 1 << 20 }, "Head").SetName("MobileNetV2RefusesAHugeHead");
        yield return new TestCaseData(w with { Dropout = 1.5 }, "Dropout").SetName("MobileNetV2RefusesADropoutAboveOne");
        yield return new TestCaseData(w with { NumClasses = 0 }, "NumClasses").SetName("MobileNetV2RefusesZeroClasses");
        yield return new TestCaseData(w with { Blocks = [] }, "number of blocks").SetName("MobileNetV2RefusesNoBlocks");
        yield return new TestCaseData(Block(0, b => b with { Expanded = 64 }), "features.1) has no expand conv").SetName("MobileNetV2RefusesAnExpansionWithoutExpandConv");
        yield return new TestCaseData(Block(2, b => b with { Stride = 2 }), "features.3) has a residual").SetName("MobileNetV2RefusesAStridedResidual");
        yield return new TestCaseData(Block(4, b => b with { In = 31 }), "features.5) input width").SetName("MobileNetV2RefusesABlockReadingTheWrongWidth");
        yield return new TestCaseData(Block(5, b => b with { Out = 0 }), "features.6) Out").SetName("MobileNetV2RefusesAnEmptyBlockOutput");
        yield return new TestCaseData(Block(6, b => b with { Index = 9 }), "must have Index 7").SetName("MobileNetV2RefusesAGapInTheNumbering");
    }

    [TestCaseSource(nameof(Refusals))]
    public void ValidateRefusesWidthsTheBuilderCannotRunNamingTheField(MobileNetV2Widths widths, string field)
    {
        var ex = Assert.Throws<ArgumentException>(widths.Validate);
        Assert.That(ex!.Message, Does.Contain(field));
        Assert.Throws<ArgumentException>(() => new MobileNetV2(widths).Dispose());
    }

    [Test]
    public void DeclarationCoversEveryLayerWithItsChannelCounts()
    {
        using var model = new MobileNetV2(MobileNetV2Widths.MobileNetV2(10));
        ChannelDeclarationChecks.DeclarationMatchesTheModule(model);
        ChannelDeclarationChecks.SpacesFollowModuleOrder(model);
    }

    [Test]
    public void SpacesAndGroupsOfTorchvisionsNetwork()
    {
        var d = MobileNetV2Widths.MobileNetV2(10).DeclareChannels();
        Assert.Multiple(() =>
        {
            Assert.That(d.Spaces, Has.Count.EqualTo(1 + 16 + 17 + 1));
            Assert.That(ChannelDeclarationChecks.GroupCount(d), Is.EqualTo(25));
            Assert.That(d.Spaces.Count(s => s.Kind == SpaceKind.Expand), Is.EqualTo(16));
            Assert.That(d["stem"].Members.Select(m => m.ToString()), Is.EqualTo(new[]
            {
                "features.0.0 out", "features.0.1 (BatchNorm)", "features.1.conv.0.0 in=out (depthwise)",
                "features.1.conv.0.1 (BatchNorm)", "features.1.conv.1 in",
            }));
            Assert.That(d["head"].Kind, Is.EqualTo(SpaceKind.Head));
            Assert.That(d["head"].Members.Select(m => m.ToString()), Is.EqualTo(new[]
            {
                "features.18.0 out", "features.18.1 (BatchNorm)", "classifier.1 in",
            }));
            Assert.That(d.Ties, Does.Contain(("block 3 out", "block 2 out")));
            Assert.That(d.Ties, Has.Count.EqualTo(10));
        });
    }

    [Test]
    public void RebuildWithTheCurrentWidthsGivesTheSameStateDictShapes()
    {
        using var model = new MobileNetV2(MobileNetV2Widths.MobileNetV2(10));
        var current = model.DeclareChannels().Spaces.ToDictionary(s => s.Name, s => s.Width);
        using var rebuilt = model.Rebuild(current);
        Assert.That(rebuilt.Architecture, Is.EqualTo("mobilenet_v2"));
        Assert.That(Shapes(rebuilt.Module), Is.EquivalentTo(Shapes(model)));
    }

    [Test]
    public void RebuildGivesTiedSpacesTheirGroupsWidthAndRuns()
    {
        using var model = new MobileNetV2(MobileNetV2Widths.MobileNetV2(10));
        using var rebuilt = model.Rebuild(new Dictionary<string, int> { ["block 5 out"] = 20, ["stem"] = 16, ["head"] = 640 });
        var d = rebuilt.DeclareChannels();
        Assert.Multiple(() =>
        {
            foreach (var tied in new[] { "block 4 out", "block 5 out", "block 6 out" })
                Assert.That(d[tied].Width, Is.EqualTo(20), tied);
            Assert.That(d["block 7 out"].Width, Is.EqualTo(64), "untouched");
            Assert.That(((MobileNetV2)rebuilt).Blocks[0].Depthwise.Conv.Weight.shape[0], Is.EqualTo(16), "block 1's depthwise works on the stem");
        });
        ChannelDeclarationChecks.DeclarationMatchesTheModule(rebuilt);
        rebuilt.Module.eval();
        using var _ = no_grad();
        using var y = rebuilt.Module.call(randn(1, 3, 32, 32));
        Assert.That(y.shape, Is.EqualTo(new long[] { 1, 10 }));
    }

    [Test]
    public void InitialisationIsTorchvisions()
    {
        manual_seed(5);
        using var model = new MobileNetV2(MobileNetV2Widths.MobileNetV2(10));
        using var _ = no_grad();
        var project = model.Blocks[16].Project.Weight; // [320, 960, 1, 1]: fan_out = 320
        var norm = model.Blocks[16].ProjectNorm;
        Assert.Multiple(() =>
        {
            Assert.That(project.std().item<float>(), Is.EqualTo(Math.Sqrt(2.0 / 320)).Within(5).Percent, "kaiming normal, fan_out");
            Assert.That(norm!.weight!.eq(1).all().item<bool>() && norm.bias!.eq(0).all().item<bool>(), Is.True);
            Assert.That(model.Classifier.Weight.std().item<float>(), Is.EqualTo(0.01).Within(5).Percent, "N(0, 0.01)");
            Assert.That(model.Classifier.Bias!.eq(0).all().item<bool>(), Is.True);
        });
    }
}
