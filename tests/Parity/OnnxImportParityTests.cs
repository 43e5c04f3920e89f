using Harness.Export;
using Harness.Model;
using Harness.Model.Families;
using Harness.Model.Import;
using Harness.Model.Networks;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using Harness.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Tests.Parity;

/// <summary>
/// torchvision's networks exported as a PyTorch user exports them (<c>torch.onnx.export(model, x,
/// training=PRESERVE, do_constant_folding=False, opset_version=17)</c> from eval mode, random weights and BatchNorm
/// statistics) and imported by Harness (<see cref="OnnxImporter"/>): the eval logits equal PyTorch's; one SGD step in
/// train mode (batch statistics, running-stat momentum, lr 0.01, momentum 0.9, weight decay 5e-4) leaves every
/// parameter and running statistic within 1e-5 of PyTorch's step (both in float64: in float32 the order of a long
/// sum, which threads, memory layout and libtorch version change, moves a depthwise or late DenseNet gradient by
/// more than that on PyTorch's side alone); the import exported again by <c>export onnx</c> runs
/// in ONNX Runtime with the same logits; and where Harness has the family itself (resnet18, mobilenet_v2,
/// efficientnet_b0) the imported and the declared network give the same logits on the same weights.
/// The default run covers resnet18, mobilenet_v2, efficientnet_b0 and <c>operator_zoo</c> (a small CNN through the
/// operators those do not use: asymmetric padding, dilation, groups, ceil-mode pools, LeakyReLU, Hardsigmoid,
/// Hardswish, Sub and Div, Split and Concat, ReduceMean, <c>x.reshape(x.size(0), -1)</c>'s shape subgraph, MatMul);
/// the others (vgg16_bn, densenet121, regnet_x_400mf, googlenet, mobilenet_v3_small) run with
/// <c>--filter Category=Zoo</c>.
/// </summary>
[TestFixture, Category("Parity")]
public sealed class OnnxImportParityTests : ParityFixture
{
    private static readonly string[] Default = ["resnet18", "mobilenet_v2", "efficientnet_b0", "operator_zoo"];
    private static readonly string[] Zoo = ["vgg16_bn", "densenet121", "regnet_x_400mf", "googlenet", "mobilenet_v3_small"];
    private readonly HashSet<string> _exported = [];

    private void Export(string arch)
    {
        if (_exported.Contains(arch)) return;
        PythonTorch.Run("torchvision_onnx_import.py", Exchange, TimeSpan.FromMinutes(6), [arch]);
        _exported.Add(arch);
    }

    public static IEnumerable<TestCaseData> Cases() =>
        Default.Select(a => new TestCaseData(a).SetName($"{{m}}({a})"))
            .Concat(Zoo.Select(a => new TestCaseData(a).SetName($"{{m}}({a})").SetCategory("Zoo").Explicit("zoo: --filter Category=Zoo")));

    private GraphNetwork Import(string arch)
    {
        Export(arch);
        return OnnxImporter.Import(new OnnxImportOptions(In($"{arch}.onnx")));
    }

    [TestCaseSource(nameof(Cases))]
    public void EvalLogitsEqualPyTorchsAndTheExportRunsInOnnxRuntime(string arch)
    {
        using var model = Import(arch);
        model.eval();
        using var io = TorchCheckpoint.Load(In($"{arch}_io.pth"));
        using var x = io["input"];
        using var logits = no_grad_forward(model, x);
        double diff = MaxAbsDifference(io["logits"], logits);
        using var ort = OnnxRuntimeModel.Export(model, Enumerable.Range(0, 10).Select(i => $"c{i}").ToList(), 2, arch);
        using var ortLogits = ort.Logits(x);
        double ortDiff = MaxAbsDifference(io["logits"], ortLogits);
        Report($"{arch}: {model.Spec.Nodes.Count} nodes, {model.PrunableLayers().Count()} prunable layers, {model.Stages.Count} stages; " +
               $"max |Δ logits| vs PyTorch {diff:E2}, ONNX Runtime on Harness's export {ortDiff:E2}");
        Assert.That(diff, Is.LessThanOrEqualTo(1e-4));
        Assert.That(ortDiff, Is.LessThanOrEqualTo(1e-4));
    }

    [TestCaseSource(nameof(Cases))]
    public void OneSgdStepInTrainModeEqualsPyTorchs(string arch)
    {
        using var model = Import(arch);
        using var io = TorchCheckpoint.Load(In($"{arch}_io.pth"));
        using var initial = TorchCheckpoint.Load(In($"{arch}_initial.pth"));
        using var expected = TorchCheckpoint.Load(In($"{arch}_step.pth"));
        using (var sd = StateDict.FromModule(model))
            foreach (var (name, t) in sd.Items)
                if (!name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
                {
                    using var e = Torch(initial, name);
                    Assert.That(TensorAssert.Identical(e, t), Is.True, $"imported {name} differs from the exported weights");
                }
        // The one state PyTorch keeps that ONNX does not: how many batches each BatchNorm has seen.
        using (no_grad())
            foreach (var (name, t) in model.named_buffers())
                if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) t.copy_(initial[name]);
        // Float64 on both sides: float32 summation order (threads, layouts, libtorch 2.10 against PyTorch 1.13) moves
        // a long gradient sum by more than 1e-5; float64 leaves the semantics alone to compare.
        model.to(float64);
        model.train();
        using var sgd = new SgdMomentum(model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList(), 0.9, 5e-4) { LearningRate = 0.01 };
        using (var scope = NewDisposeScope())
        {
            var loss = nn.functional.cross_entropy(model.call(io["input"].to(float64)), io["labels"]);
            sgd.ZeroGrad();
            loss.backward();
            sgd.Step();
        }
        using var after = StateDict.FromModule(model);
        Assert.That(after.Keys.Select(k => expected.ContainsKey(k) ? k : k[..^".weight".Length]).Order(), Is.EqualTo(expected.Keys.Order()));
        double worst = 0, largestUpdate = 0;
        string worstName = "";
        var beyond = new List<string>();
        foreach (var (name, t) in after.Items)
        {
            using var theirs = Torch(expected, name);
            using var before = Torch(initial, name);
            double d = MaxAbsDifference(theirs, t);
            largestUpdate = Math.Max(largestUpdate, MaxAbsDifference(before, theirs));
            if (d > worst) (worst, worstName) = (d, name);
            if (d > 1e-5) beyond.Add($"{name}: |Δ| {d:E2}");
        }
        Report($"{arch}: {after.Count} state tensors after one float64 step (largest update {largestUpdate:E2}), max |Δ| vs PyTorch {worst:E2} ({worstName})");
        Assert.That(beyond, Is.Empty);
    }

    [TestCase("resnet18"), TestCase("mobilenet_v2"), TestCase("efficientnet_b0")]
    public void TheImportAndHarnesssOwnFamilyGiveTheSameLogits(string arch)
    {
        using var imported = Import(arch);
        using var own = Architectures.Create(arch, 10).Build();
        using (var sd = StateDict.FromModule(imported))
            StateDictLoader.Load(own.Module, sd, strict: true, sourceName: arch);
        imported.eval();
        own.Module.eval();
        using var io = TorchCheckpoint.Load(In($"{arch}_io.pth"));
        using var a = no_grad_forward(imported, io["input"]);
        using var b = no_grad_forward(own.Module, io["input"]);
        double diff = MaxAbsDifference(a, b);
        Report($"{arch}: imported vs declared family, max |Δ logits| {diff:E2}");
        Assert.That(diff, Is.LessThanOrEqualTo(1e-5));
    }

    public static IEnumerable<TestCaseData> PruningCases() =>
        from arch in new[] { "resnet18", "mobilenet_v2", "efficientnet_b0" }
        from ratio in new[] { 0.2, 0.5, 0.8 }
        select new TestCaseData(arch, ratio).SetName($"{{m}}({arch},{ratio})");

    /// <summary>Channel pruning of the import, on the channel spaces derived from its graph, equals channel pruning of
    /// the declared family (whose results equal Torch-Pruning's, README "Other architectures") on the same weights:
    /// the same groups, the same tensors, bit for bit; and the pruned import rebuilds from its checkpoint.</summary>
    [TestCaseSource(nameof(PruningCases))]
    public void ChannelPruningOfTheImportEqualsTheDeclaredFamilys(string arch, double ratio)
    {
        using var imported = Import(arch);
        using var own = Architectures.Create(arch, 10).Build();
        using (var sd = StateDict.FromModule(imported))
            StateDictLoader.Load(own.Module, sd, strict: true, sourceName: arch);
        var derived = Harness.Pruning.Channels.DependencyGraph.Build(imported);
        var declared = Harness.Pruning.Channels.DependencyGraph.Build(own);
        Assert.That(imported.Widths.Channels.Untouched, Is.Empty, string.Join("; ", imported.Widths.Channels.Untouched));
        Assert.That(derived.Groups.Select(g => g.Members.Select(m => m.ToString()).Order().ToList()).OrderBy(g => g[0]),
            Is.EqualTo(declared.Groups.Select(g => g.Members.Select(m => m.ToString()).Order().ToList()).OrderBy(g => g[0])), "the same groups");
        var options = new Harness.Pruning.Channels.ChannelPruningOptions { Ratio = ratio, RoundTo = 8 };
        var (a, _) = Harness.Pruning.Channels.ChannelPruner.Prune<IPrunableNetwork>(imported, options);
        var (b, _) = Harness.Pruning.Channels.ChannelPruner.Prune(own, options);
        using (a)
        using (b)
        {
            using var sa = StateDict.FromModule(a.Module);
            using var sb = StateDict.FromModule(b.Module);
            Assert.That(sa.Keys, Is.EquivalentTo(sb.Keys));
            foreach (var (name, t) in sb.Items)
                Assert.That(TensorAssert.Identical(t, sa[name]), Is.True, name);
            long parameters = a.Module.parameters().Sum(p => p.numel());
            string path = In($"{arch}_{ratio}.pth");
            ModelLoader.Save(a, path);
            using var loaded = ModelLoader.LoadNetwork(path);
            using var x = randn(1, 3, 64, 64);
            loaded.Module.eval();
            a.Module.eval();
            using var la = no_grad_forward(a.Module, x);
            using var lb = no_grad_forward(loaded.Module, x);
            Assert.That(MaxAbsDifference(la, lb), Is.Zero);
            Report($"{arch} at {ratio}: {derived.Groups.Count} derived groups, as declared; {parameters:N0} parameters after pruning, tensors identical to the declared family's");
        }
    }

    /// <summary>A freshly initialised network's export: torch.onnx merges equal initializers (every BatchNorm's ones
    /// and zeros) and gives the other names as Identity outputs; each name comes back as a parameter of its own, so
    /// the import has torchvision's state dict, name for name and tensor for tensor.</summary>
    [Test]
    public void MergedInitializersOfAFreshExportComeBackAsParametersOfTheirOwn()
    {
        using var imported = Import("resnet18_fresh");
        using var initial = TorchCheckpoint.Load(In("resnet18_fresh_initial.pth"));
        using var sd = StateDict.FromModule(imported);
        Assert.That(sd.Keys.Order(), Is.EqualTo(initial.Keys.Order()));
        foreach (var (name, t) in sd.Items)
            if (!name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
                Assert.That(TensorAssert.Identical(initial[name], t), Is.True, name);
        Report($"resnet18, fresh: {sd.Count} state tensors, names and values as torchvision's");
    }

    /// <summary>Torch-Pruning 1.6.1's parameter counts after <c>MetaPruner(model, x, MagnitudeImportance(p=1),
    /// pruning_ratio=r, ignored_layers=[head], round_to=8).step()</c> on torchvision 0.14's models (measured and
    /// listed in issue 28).</summary>
    private static readonly Dictionary<(string, double), long> TorchPruningParameters = new()
    {
        [("resnet18", 0.2)] = 6_979_050,
        [("resnet18", 0.5)] = 2_801_450,
        [("mobilenet_v2", 0.2)] = 1_421_250,
        [("mobilenet_v2", 0.5)] = 586_106,
        [("efficientnet_b0", 0.2)] = 2_522_730,
        [("efficientnet_b0", 0.5)] = 1_052_646,
        [("vgg16_bn", 0.2)] = 85_433_618,
        [("vgg16_bn", 0.5)] = 33_593_386,
        [("densenet121", 0.2)] = 4_018_202,
        [("densenet121", 0.5)] = 1_766_858,
        [("regnet_x_400mf", 0.2)] = 1_935_234,
        [("regnet_x_400mf", 0.5)] = 1_285_434,
    };

    public static IEnumerable<TestCaseData> TorchPruningCases() =>
        from key in TorchPruningParameters.Keys
        let zoo = key.Item1 is "vgg16_bn" or "densenet121" or "regnet_x_400mf"
        let c = new TestCaseData(key.Item1, key.Item2).SetName($"{{m}}({key.Item1},{key.Item2})")
        select zoo ? c.SetCategory("Zoo").Explicit("zoo: --filter Category=Zoo") : c;

    /// <summary>The import pruned with <c>--ratio r --round-to 8</c> has Torch-Pruning's parameter count, and
    /// pruning it keeps it a network that runs and rebuilds from its checkpoint.</summary>
    [TestCaseSource(nameof(TorchPruningCases))]
    public void PrunedImportHasTorchPruningsParameterCount(string arch, double ratio)
    {
        using var imported = Import(arch);
        var (pruned, report) = Harness.Pruning.Channels.ChannelPruner.Prune<IPrunableNetwork>(imported, new Harness.Pruning.Channels.ChannelPruningOptions { Ratio = ratio, RoundTo = 8 });
        using (pruned)
        {
            long parameters = pruned.Module.parameters().Sum(p => p.numel());
            var untouched = imported.Widths.Channels.Untouched;
            Report($"{arch} at {ratio}: {report.Groups.Count} groups, {untouched.Count} spaces untouched; {parameters:N0} parameters (Torch-Pruning {TorchPruningParameters[(arch, ratio)]:N0})" +
                   (untouched.Count > 0 ? $"; first untouched: {untouched[0].Space}: {untouched[0].Why}" : ""));
            using var x = randn(1, 3, 224, 224);
            pruned.Module.eval();
            using var y = no_grad_forward(pruned.Module, x);
            Assert.That(y.shape, Is.EqualTo(new long[] { 1, 10 }));
            Assert.That(parameters, Is.EqualTo(TorchPruningParameters[(arch, ratio)]));
        }
    }

    /// <summary>Torch-Pruning's source folder (its v1.6.1 tag, fetched, never vendored): <c>HARNESS_TORCH_PRUNING</c>.</summary>
    private static string TorchPruningSource()
    {
        string? source = Environment.GetEnvironmentVariable("HARNESS_TORCH_PRUNING");
        if (string.IsNullOrEmpty(source) || !File.Exists(Path.Combine(source, "torch_pruning", "__init__.py")))
            Assert.Ignore("Skipped: set HARNESS_TORCH_PRUNING to a Torch-Pruning 1.6.1 source tree " +
                          "(git clone https://github.com/VainF/Torch-Pruning && git -C Torch-Pruning checkout v1.6.1)");
        return source!;
    }

    public static IEnumerable<TestCaseData> TorchPruningTensorCases() =>
        from key in TorchPruningParameters.Keys
        let c = new TestCaseData(key.Item1, key.Item2).SetName($"{{m}}({key.Item1},{key.Item2})")
        select key.Item1 is "vgg16_bn" or "densenet121" or "regnet_x_400mf" ? c.SetCategory("Zoo").Explicit("zoo: --filter Category=Zoo") : c;

    /// <summary>Torch-Pruning 1.6.1 itself (<c>MetaPruner</c>, <c>MagnitudeImportance(p=1)</c>, head ignored,
    /// <c>round_to=8</c>) on torchvision's model, and <c>ChannelPruner</c> on its ONNX export with the same weights:
    /// the same state-dict names, shapes and values, bit for bit — which channels go, in which order they stay, and
    /// what every kept tensor holds (grouped convs, concatenations and flattened classifiers included).</summary>
    [TestCaseSource(nameof(TorchPruningTensorCases))]
    public void PrunedTensorsEqualTorchPruningsOwn(string arch, double ratio)
    {
        string source = TorchPruningSource();
        using var imported = Import(arch);
        string r = ratio.ToString(System.Globalization.CultureInfo.InvariantCulture);
        PythonTorch.Run("torch_pruning_prune.py", Exchange, TimeSpan.FromMinutes(6), [source, arch, r]);
        var (pruned, _) = Harness.Pruning.Channels.ChannelPruner.Prune<IPrunableNetwork>(imported, new Harness.Pruning.Channels.ChannelPruningOptions { Ratio = ratio, RoundTo = 8 });
        using (pruned)
        using (var tp = TorchCheckpoint.Load(In($"{arch}_tp_{r}.pth")))
        {
            var ours = pruned.Module.state_dict();
            var missing = tp.Keys.Where(k => !ours.ContainsKey(k) && !ours.ContainsKey(k + ".weight")).ToList();
            Assert.That(missing, Is.Empty, "Torch-Pruning's names Harness lacks");
            double worst = 0;
            var differing = new List<string>();
            // BatchNorm's num_batches_tracked is a training counter ONNX does not carry (the import starts it at 0).
            foreach (var key in tp.Keys.Where(k => !k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)))
            {
                using var theirs = tp[key].to(float64);
                string name = ours.ContainsKey(key) ? key : key + ".weight";
                using var mine = ours.ContainsKey(key) ? ours[key].to(float64) : ours[name].t().to(float64);
                if (!mine.shape.SequenceEqual(theirs.shape))
                {
                    differing.Add($"{key}: [{string.Join(", ", mine.shape)}] vs [{string.Join(", ", theirs.shape)}]");
                    continue;
                }
                if (mine.numel() == 0) continue;
                double d = mine.sub(theirs).abs().max().item<double>();
                worst = Math.Max(worst, d);
                if (d > 0) differing.Add($"{key}: max |Δ| {d:E2}");
            }
            long parameters = pruned.Module.parameters().Sum(p => p.numel());
            Report($"{arch} at {ratio}: {tp.Count} Torch-Pruning tensors, {differing.Count} differ (max |Δ| {worst:E2}); {parameters:N0} parameters");
            Assert.That(differing, Is.Empty);
        }
    }

    /// <summary>thop's and torchprofile's MACs of torchvision 0.14's models at 224 (thop 2.0's <c>profile</c>,
    /// torchprofile 0.0.4's <c>profile_macs</c>, run on Debian's PyTorch 1.13 outside the repository).</summary>
    private static readonly Dictionary<string, (long Thop, long TorchProfile)> ReferenceMacs = new()
    {
        ["resnet18"] = (1_823_526_912, 1_816_050_688),
        ["mobilenet_v2"] = (326_219_520, 306_186_464),
        ["efficientnet_b0"] = (413_877_824, 393_602_016),
        ["vgg16_bn"] = (15_520_449_536, 15_479_781_888),
        ["densenet121"] = (2_895_993_344, 2_848_992_000),
        ["regnet_x_400mf"] = (426_131_136, 416_590_640),
        ["googlenet"] = (1_510_318_272, 1_500_589_616),
    };

    public static IEnumerable<TestCaseData> MacCases() =>
        ReferenceMacs.Keys.Select(a => a is "resnet18" or "mobilenet_v2" or "efficientnet_b0"
            ? new TestCaseData(a).SetName($"{{m}}({a})")
            : new TestCaseData(a).SetName($"{{m}}({a})").SetCategory("Zoo").Explicit("zoo: --filter Category=Zoo"));

    /// <summary>The import's MACs at 224 equal thop's and torchprofile's on the PyTorch model it was exported from.</summary>
    [TestCaseSource(nameof(MacCases))]
    public void MacsOfTheImportEqualThopAndTorchprofile(string arch)
    {
        using var imported = Import(arch);
        var report = Harness.Metrics.MacCounter.Count(imported, 224);
        var (thop, torchProfile) = ReferenceMacs[arch];
        Report($"{arch}: thop {report.Total(Harness.Metrics.MacConvention.Thop):N0} (reference {thop:N0}), " +
               $"torchprofile {report.Total(Harness.Metrics.MacConvention.TorchProfile):N0} (reference {torchProfile:N0})");
        Assert.That(report.Total(Harness.Metrics.MacConvention.Thop), Is.EqualTo(thop));
        Assert.That(report.Total(Harness.Metrics.MacConvention.TorchProfile), Is.EqualTo(torchProfile));
    }

    /// <summary>PyTorch's tensor for a Harness state-dict name: the same name, or for a MatMul's weight (a bare
    /// parameter <c>proj</c> in PyTorch, the <c>proj.weight</c> of a linear layer in Harness) its transpose.</summary>
    private static Tensor Torch(StateDict sd, string name) =>
        sd.ContainsKey(name) ? sd[name].alias() : sd[name[..^".weight".Length]].t().contiguous();

    private static Tensor no_grad_forward(nn.Module<Tensor, Tensor> model, Tensor x)
    {
        using var _ = no_grad();
        return model.call(x);
    }
}
