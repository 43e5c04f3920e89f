using Harness.Model.Channels;
using Harness.Model.Layers;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Pruning;

/// <summary>
/// The dependency graph and the channel pruner know nothing of EfficientNet: a network declared here, outside
/// Harness.Model, is grouped by its ties and pruned by its declared roles alone.
/// </summary>
public class GeneralChannelGraphTests
{
    /// <summary>conv a (3 → w) + BN, conv b (w → w) + BN, residual a + b, global pool, linear (w → 4). Spaces
    /// "a" and "b" are tied by the add; conv b reads "a".</summary>
    private sealed class ResidualPair : Harness.Model.Layers.ExplicitModule, IPrunableNetwork
    {
        private readonly int _width;

        public ResidualPair(int width) : base(nameof(ResidualPair))
        {
            _width = width;
            ConvA = Add("conv_a", new PrunableConv2d(3, width, 3, padding: 1));
            BnA = Add("bn_a", nn.BatchNorm2d(width));
            ConvB = Add("conv_b", new PrunableConv2d(width, width, 3, padding: 1));
            BnB = Add("bn_b", nn.BatchNorm2d(width));
            Classifier = Add("fc", new PrunableLinear(width, 4));
            using (no_grad())
                foreach (var layer in new PrunableLayer[] { ConvA, ConvB, Classifier })
                {
                    layer.Weight.uniform_(-1, 1);
                    layer.Bias?.uniform_(-1, 1);
                }
        }

        public PrunableConv2d ConvA { get; }
        public BatchNorm2d BnA { get; }
        public PrunableConv2d ConvB { get; }
        public BatchNorm2d BnB { get; }
        public PrunableLinear Classifier { get; }
        public string Architecture => "residual_pair";
        public nn.Module<Tensor, Tensor> Module => this;
        public int NumClasses => 4;

        public void ReplaceClassifier(int numClasses) => throw new NotSupportedException("the test network keeps its four classes");
        public IReadOnlyList<IReadOnlyList<string>> Stages => [["conv_a", "bn_a"], ["conv_b", "bn_b"]];
        public string MetadataJson() => $$"""{"architecture":"residual_pair","width":{{_width}}}""";

        public ChannelDeclaration DeclareChannels()
        {
            var d = new ChannelDeclaration();
            d.Space("a", SpaceKind.Stem, _width);
            d.Member("a", "conv_a", ChannelRole.Out);
            d.Member("a", "bn_a", ChannelRole.BatchNorm);
            d.Member("a", "conv_b", ChannelRole.In);
            d.Space("b", SpaceKind.Trunk, _width);
            d.Member("b", "conv_b", ChannelRole.Out);
            d.Member("b", "bn_b", ChannelRole.BatchNorm);
            d.Member("b", "fc", ChannelRole.In);
            d.Tie("b", "a");
            return d;
        }

        public IPrunableNetwork Rebuild(IReadOnlyDictionary<string, int> spaceWidths)
        {
            Assert.That(spaceWidths["a"], Is.EqualTo(spaceWidths["b"]), "tied spaces get one width");
            return new ResidualPair(spaceWidths["a"]);
        }

        public IEnumerable<(string Name, PrunableLayer Layer)> PrunableLayers() => [("conv_a", ConvA), ("conv_b", ConvB), ("fc", Classifier)];

        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            var a = BnA.call(ConvA.call(input));
            var b = BnB.call(ConvB.call(a));
            var x = nn.functional.adaptive_avg_pool2d(a + b, 1).flatten(1);
            return Classifier.call(x).MoveToOuterDisposeScope();
        }
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && (a == b).all().item<bool>();

    [Test]
    public void TiedSpacesAreOneGroupWithEveryMemberInDeclarationOrder()
    {
        using var net = new ResidualPair(6);
        var graph = DependencyGraph.Build(net);
        Assert.That(graph.Groups, Has.Count.EqualTo(1));
        var g = graph.Groups[0];
        Assert.That((g.Space, g.Kind, g.Channels), Is.EqualTo(("a", SpaceKind.Stem, 6)));
        Assert.That(g.Members.Select(m => m.ToString()), Is.EqualTo(new[] { "conv_a out", "bn_a (BatchNorm)", "conv_b in", "conv_b out", "bn_b (BatchNorm)", "fc in" }));
    }

    [Test]
    public void PruningSlicesEveryTensorByItsDeclaredRole()
    {
        manual_seed(3);
        using var net = new ResidualPair(6);
        using (no_grad())
            foreach (var bn in new[] { net.BnA, net.BnB })
            {
                bn.running_mean!.uniform_(-1, 1);
                bn.running_var!.uniform_(0.5, 2);
            }
        var graph = DependencyGraph.Build(net);
        var (pruned, report) = ChannelPruner.PruneChannels(net, graph, new Dictionary<int, int[]> { [0] = [1, 4] });
        using (pruned)
        {
            var keep = tensor(new long[] { 0, 2, 3, 5 });
            Assert.That(report.SpaceWidths, Is.EquivalentTo(new Dictionary<string, int> { ["a"] = 4, ["b"] = 4 }));
            Assert.That(Same(pruned.ConvA.Weight, net.ConvA.Weight.index_select(0, keep)));
            Assert.That(Same(pruned.ConvB.Weight, net.ConvB.Weight.index_select(0, keep).index_select(1, keep)));
            Assert.That(Same(pruned.BnB.running_var!, net.BnB.running_var!.index_select(0, keep)));
            Assert.That(Same(pruned.Classifier.Weight, net.Classifier.Weight.index_select(1, keep)));
            Assert.That(Same(pruned.Classifier.Bias!, net.Classifier.Bias!), "class outputs are in no space");
        }
    }

    [Test]
    public void RemovingChannelsThatContributeNothingLeavesTheLogitsUnchanged()
    {
        manual_seed(5);
        using var net = new ResidualPair(8);
        net.eval();
        long[] gone = [2, 7];
        using (no_grad())
            foreach (long c in gone)
            {
                // Channel c of the tied space is zero after both BatchNorms: nothing downstream sees it.
                net.BnA.weight![c] = 0; net.BnA.bias![c] = 0;
                net.BnB.weight![c] = 0; net.BnB.bias![c] = 0;
            }
        using var x = randn(2, 3, 12, 12);
        using var before = net.call(x);
        var (pruned, _) = ChannelPruner.PruneChannels(net, DependencyGraph.Build(net), new Dictionary<int, int[]> { [0] = gone.Select(i => (int)i).ToArray() });
        using (pruned)
        {
            pruned.eval();
            using var after = pruned.call(x);
            Assert.That((after - before).abs().max().item<float>(), Is.LessThan(1e-5f));
        }
    }

    [Test]
    public void ALayerDeclaredTwiceForOneDimensionAndTiesOfUnequalWidthAreRefused()
    {
        var d = new ChannelDeclaration();
        d.Space("x", SpaceKind.Stem, 4);
        d.Space("y", SpaceKind.Trunk, 4);
        d.Member("x", "conv", ChannelRole.Out);
        d.Member("y", "conv", ChannelRole.Out);
        Assert.That(() => DependencyGraph.Build(d), Throws.ArgumentException.With.Message.Contains("'conv'"));
        d.Space("z", SpaceKind.Inner, 5);
        Assert.That(() => d.Tie("x", "z"), Throws.ArgumentException.With.Message.Contains("differ in width"));
        Assert.That(() => d.Member("w", "conv", ChannelRole.In), Throws.ArgumentException.With.Message.Contains("'w' is not declared"));
    }
}
