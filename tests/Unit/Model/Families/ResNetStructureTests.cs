using Harness.Model.Channels;
using Harness.Model.Families;
using Harness.Storage.Checkpoints;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Model.Families;

public class ResNetStructureTests
{
    public static readonly string[] Variants = ["resnet18", "resnet50"];

    private static ResNetWidths Widths(string variant) => variant switch
    {
        "resnet18" => ResNetWidths.ResNet18(10),
        "resnet50" => ResNetWidths.ResNet50(10),
        _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, null),
    };

    private static Dictionary<string, long[]> Shapes(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);

    // Expected numbers from torchvision 0.14:
    // /usr/bin/python3 -c "import torchvision; m=torchvision.models.resnet18(num_classes=10); print(sum(p.numel() for p in m.parameters()))"
    // (and resnet50); the state-dict key count is len(m.state_dict()).
    [TestCase("resnet18", 11_181_642, 122)]
    [TestCase("resnet50", 23_528_522, 320)]
    public void ParameterAndStateDictCountsMatchTorchvision(string variant, long parameters, int keys)
    {
        using var model = new ResNet(Widths(variant));
        Assert.That(model.parameters().Sum(p => p.numel()), Is.EqualTo(parameters));
        Assert.That(model.state_dict().Count, Is.EqualTo(keys));
    }

    [Test]
    public void TorchvisionNamesAndShapesOfTheFirstAndDownsamplingBlocks()
    {
        using var model = new ResNet(ResNetWidths.ResNet50(10));
        var keys = StateDictOrder.Ordered(model).Select(kv => kv.Key).ToList();
        Assert.That(keys.Take(7), Is.EqualTo(new[]
        {
            "conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
            "layer1.0.conv1.weight",
        }));
        Assert.That(keys[^2..], Is.EqualTo(new[] { "fc.weight", "fc.bias" }));
        var shapes = Shapes(model);
        Assert.Multiple(() =>
        {
            Assert.That(shapes["layer1.0.downsample.0.weight"], Is.EqualTo(new long[] { 256, 64, 1, 1 }));
            Assert.That(shapes["layer2.0.conv2.weight"], Is.EqualTo(new long[] { 128, 128, 3, 3 }));
            Assert.That(shapes["layer2.0.downsample.1.running_var"], Is.EqualTo(new long[] { 512 }));
            Assert.That(shapes["fc.weight"], Is.EqualTo(new long[] { 10, 2048 }));
            var layer2 = (Bottleneck)model.Blocks[3];
            Assert.That((layer2.Conv1.Stride, layer2.Conv2.Stride), Is.EqualTo((1L, 2L)), "v1.5: a Bottleneck's stride is on its 3×3 conv");
        });
    }

    [TestCaseSource(nameof(Variants))]
    public void LogitsHaveOneRowPerImageAndOneColumnPerClassAt32And64(string variant)
    {
        manual_seed(3);
        using var model = new ResNet(Widths(variant));
        model.eval();
        using var _ = no_grad();
        foreach (int size in new[] { 32, 64 })
        {
            using var y = model.call(randn(2, 3, size, size));
            Assert.That(y.shape, Is.EqualTo(new long[] { 2, 10 }), $"{size} px");
            Assert.That(y.isfinite().all().item<bool>(), Is.True);
        }
    }

    [TestCaseSource(nameof(Variants))]
    public void WeightShapesOfWidthsAreTheShapesOfTheBuiltNetwork(string variant)
    {
        using var model = new ResNet(Widths(variant));
        var built = model.PrunableLayers().ToDictionary(l => $"{l.Name}.weight", l => l.Layer.Weight.shape);
        Assert.That(model.Widths.WeightShapes(), Is.EquivalentTo(built));
    }

    [TestCaseSource(nameof(Variants))]
    public void WidthsRebuildFromStateDictShapes(string variant)
    {
        using var model = new ResNet(Widths(variant));
        Assert.That(ResNetWidths.FromStateDictShapes(Shapes(model)), Is.EqualTo(Widths(variant)));
    }

    [Test]
    public void MaskedWeightsAndPerBlockWidthsRebuildFromTheirShapes()
    {
        var widths = ResNetWidths.ResNet50(10).WithSpaceWidths(new Dictionary<string, int>
        {
            ["stem"] = 40,
            ["layer1.0 conv1"] = 17,
            ["layer1.2 conv2"] = 9,
            ["layer3.0 out"] = 300,
        });
        using var model = new ResNet(widths);
        foreach (var (_, layer) in model.PrunableLayers().Take(3))
            layer.ApplyMask(ones_like(layer.Weight));
        var shapes = Shapes(model);
        Assert.That(shapes.Keys, Has.Some.EndsWith(".weight_orig"));
        Assert.That(ResNetWidths.FromStateDictShapes(shapes), Is.EqualTo(widths));
    }

    [Test]
    public void BlockKindIsReadFromTheKeys()
    {
        using var basic = new ResNet(ResNetWidths.ResNet18(3));
        using var bottleneck = new ResNet(ResNetWidths.ResNet50(3));
        Assert.That(ResNetWidths.FromStateDictShapes(Shapes(basic)).Block, Is.EqualTo(ResNetBlockKind.Basic));
        Assert.That(ResNetWidths.FromStateDictShapes(Shapes(bottleneck)).Block, Is.EqualTo(ResNetBlockKind.Bottleneck));
    }

    [TestCase("conv1.weight", new long[] { 64 }, TestName = "ResNetStemWeightOfRankOneIsAFormatError")]
    [TestCase("layer2.1.conv2.weight", new long[0], TestName = "ResNetBlockWeightOfRankZeroIsAFormatError")]
    [TestCase("fc.weight", new long[] { 1L << 40, 512 }, TestName = "ResNetWidthBeyondInt32IsAFormatError")]
    public void WidthsFromBadShapesAreAFormatErrorNamingTheKey(string key, long[] shape)
    {
        using var model = new ResNet(ResNetWidths.ResNet18(10));
        var shapes = Shapes(model);
        shapes[key] = shape;
        var ex = Assert.Throws<InvalidDataException>(() => ResNetWidths.FromStateDictShapes(shapes));
        Assert.That(ex!.Message, Does.Contain(key));
    }

    [Test]
    public void StateDictWithoutBlocksIsNotAResNet()
    {
        var ex = Assert.Throws<InvalidDataException>(() => ResNetWidths.FromStateDictShapes(
            new Dictionary<string, long[]> { ["features.0.0.weight"] = [32, 3, 3, 3] }));
        Assert.That(ex!.Message, Does.Contain("not a ResNet"));
    }

    private static IEnumerable<TestCaseData> Refusals()
    {
        var r18 = ResNetWidths.ResNet18(10);
        var r50 = ResNetWidths.ResNet50(10);
        ResNetWidths Block(ResNetWidths w, int i, Func<ResNetBlockWidths, ResNetBlockWidths> change) =>
            w with { Blocks = w.Blocks.Select((b, j) => j == i ? change(b) : b).ToList() };
        yield return new TestCaseData(r18 with { Stem = 0 }, "Stem").SetName("ResNetRefusesAnEmptyStem");
        yield return new TestCaseData(r18 with { NumClasses = 0 }, "NumClasses").SetName("ResNetRefusesZeroClasses");
        yield return new TestCaseData(r18 with { Blocks = [] }, "number of blocks").SetName("ResNetRefusesNoBlocks");
        yield return new TestCaseData(Block(r18, 1, b => b with { Conv1Out = 1 << 20 }), "layer1.1) Conv1Out").SetName("ResNetRefusesAHugeConv1");
        yield return new TestCaseData(Block(r18, 2, b => b with { Stride = 0 }), "layer2.0) Stride").SetName("ResNetRefusesStrideZero");
        yield return new TestCaseData(Block(r18, 3, b => b with { In = 64 }), "layer2.1) input width").SetName("ResNetRefusesABlockReadingTheWrongWidth");
        yield return new TestCaseData(Block(r18, 2, b => b with { HasDownsample = false }), "layer2.0) has no downsample").SetName("ResNetRefusesAStridedBlockWithoutDownsample");
        yield return new TestCaseData(Block(r18, 0, b => b with { Conv2Out = 64 }), "layer1.0) Conv2Out").SetName("ResNetRefusesConv2OutInABasicBlock");
        yield return new TestCaseData(Block(r50, 0, b => b with { Conv2Out = null }), "layer1.0) Conv2Out").SetName("ResNetRefusesABottleneckWithoutConv2Out");
        yield return new TestCaseData(Block(r18, 1, b => b with { Index = 2 }), "layer1.2) must be stage 1 index 1").SetName("ResNetRefusesAGapInTheNumbering");
    }

    [TestCaseSource(nameof(Refusals))]
    public void ValidateRefusesWidthsTheBuilderCannotRunNamingTheField(ResNetWidths widths, string field)
    {
        var ex = Assert.Throws<ArgumentException>(widths.Validate);
        Assert.That(ex!.Message, Does.Contain(field));
        Assert.Throws<ArgumentException>(() => new ResNet(widths).Dispose());
    }

    [TestCaseSource(nameof(Variants))]
    public void DeclarationCoversEveryLayerWithItsChannelCounts(string variant)
    {
        using var model = new ResNet(Widths(variant));
        ChannelDeclarationChecks.DeclarationMatchesTheModule(model);
        ChannelDeclarationChecks.SpacesFollowModuleOrder(model);
    }

    [TestCase("resnet18", 17, 12)]
    [TestCase("resnet50", 49, 37)]
    public void SpacesAndGroupsOfTorchvisionsNetworks(string variant, int spaces, int groups)
    {
        var declaration = Widths(variant).DeclareChannels();
        Assert.That(declaration.Spaces, Has.Count.EqualTo(spaces));
        Assert.That(ChannelDeclarationChecks.GroupCount(declaration), Is.EqualTo(groups));
        Assert.That(declaration.Spaces.Select(s => s.Kind).Distinct(), Is.EquivalentTo(new[] { SpaceKind.Stem, SpaceKind.Inner, SpaceKind.Trunk }));
    }

    [Test]
    public void StemIsTiedToTheFirstStageOnlyWhenLayer1HasNoDownsample()
    {
        bool Tied(ResNetWidths w) => w.DeclareChannels().Ties.Contains(("layer1.0 out", "stem"));
        Assert.That(Tied(ResNetWidths.ResNet18(10)), Is.True);
        Assert.That(Tied(ResNetWidths.ResNet50(10)), Is.False);
        var d = ResNetWidths.ResNet50(10).DeclareChannels();
        Assert.That(d["stem"].Members.Select(m => m.ToString()), Is.EqualTo(new[]
        {
            "conv1 out", "bn1 (BatchNorm)", "layer1.0.conv1 in", "layer1.0.downsample.0 in",
        }));
        Assert.That(d["layer4.2 out"].Members.Select(m => m.ToString()), Does.Contain("fc in"));
    }

    [TestCaseSource(nameof(Variants))]
    public void RebuildWithTheCurrentWidthsGivesTheSameStateDictShapes(string variant)
    {
        using var model = new ResNet(Widths(variant));
        var current = model.DeclareChannels().Spaces.ToDictionary(s => s.Name, s => s.Width);
        using var rebuilt = model.Rebuild(current);
        Assert.That(rebuilt.Architecture, Is.EqualTo("resnet"));
        Assert.That(Shapes(rebuilt.Module), Is.EquivalentTo(Shapes(model)));
        using var unchanged = model.Rebuild(new Dictionary<string, int>());
        Assert.That(Shapes(unchanged.Module), Is.EquivalentTo(Shapes(model)));
    }

    [Test]
    public void RebuildGivesTiedSpacesTheirGroupsWidthAndRuns()
    {
        using var model = new ResNet(ResNetWidths.ResNet18(10));
        using var rebuilt = model.Rebuild(new Dictionary<string, int> { ["layer1.1 out"] = 40, ["layer3.0 conv1"] = 100 });
        var d = rebuilt.DeclareChannels();
        Assert.Multiple(() =>
        {
            foreach (var tied in new[] { "stem", "layer1.0 out", "layer1.1 out" })
                Assert.That(d[tied].Width, Is.EqualTo(40), tied);
            Assert.That(d["layer3.0 conv1"].Width, Is.EqualTo(100));
            Assert.That(d["layer2.0 out"].Width, Is.EqualTo(128), "untouched");
        });
        ChannelDeclarationChecks.DeclarationMatchesTheModule(rebuilt);
        rebuilt.Module.eval();
        using var _ = no_grad();
        using var y = rebuilt.Module.call(randn(1, 3, 32, 32));
        Assert.That(y.shape, Is.EqualTo(new long[] { 1, 10 }));
    }

    [Test]
    public void TiedSpacesGivenDifferentWidthsOrUnknownSpacesAreRefused()
    {
        var widths = ResNetWidths.ResNet18(10);
        var ex = Assert.Throws<ArgumentException>(() => widths.WithSpaceWidths(new Dictionary<string, int> { ["stem"] = 32, ["layer1.1 out"] = 48 }));
        Assert.That(ex!.Message, Does.Contain("tied"));
        ex = Assert.Throws<ArgumentException>(() => widths.WithSpaceWidths(new Dictionary<string, int> { ["layer9.0 out"] = 8 }));
        Assert.That(ex!.Message, Does.Contain("layer9.0 out"));
    }

    [Test]
    public void PrunableLayersAreEveryConvAndTheClassifierInModuleOrder()
    {
        using var model = new ResNet(ResNetWidths.ResNet18(10));
        var names = model.PrunableLayers().Select(l => l.Name).ToList();
        Assert.That(names, Has.Count.EqualTo(21));
        Assert.That(names.Take(4), Is.EqualTo(new[] { "conv1", "layer1.0.conv1", "layer1.0.conv2", "layer1.1.conv1" }));
        Assert.That(names, Does.Contain("layer2.0.downsample.0"));
        Assert.That(names[^1], Is.EqualTo("fc"));
        Assert.That(ReferenceEquals(model.PrunableLayers().Last().Layer, model.Classifier), Is.True);
    }

    [Test]
    public void InitialisationIsTorchvisions()
    {
        manual_seed(5);
        using var model = new ResNet(ResNetWidths.ResNet50(10));
        using var _ = no_grad();
        var conv = model.Blocks[0].Downsample!.Conv.Weight; // [256, 64, 1, 1]: fan_out = 256
        double bound = 1 / Math.Sqrt(2048);
        Assert.Multiple(() =>
        {
            Assert.That(conv.std().item<float>(), Is.EqualTo(Math.Sqrt(2.0 / 256)).Within(5).Percent, "kaiming normal, fan_out, ReLU");
            Assert.That(model.Bn1!.weight!.eq(1).all().item<bool>() && model.Bn1!.bias!.eq(0).all().item<bool>(), Is.True);
            Assert.That(model.Classifier.Weight.abs().max().item<float>(), Is.LessThanOrEqualTo(bound));
            Assert.That(model.Classifier.Weight.std().item<float>(), Is.EqualTo(bound / Math.Sqrt(3)).Within(5).Percent, "U(-1/sqrt(in), 1/sqrt(in))");
            Assert.That(model.Classifier.Bias!.abs().max().item<float>(), Is.GreaterThan(0).And.LessThanOrEqualTo(bound));
        });
    }
}
