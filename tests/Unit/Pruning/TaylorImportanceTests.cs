using Harness.Cli.Commands;
using Harness.Model;
using Harness.Model.Layers;
using Harness.Pruning.Channels;
using Harness.Pruning.FineGrained;
using Harness.Tests.TestSupport;
using Harness.Training;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Pruning;

/// <summary>First-order Taylor importance |w·∂L/∂w| (Molchanov et al. 2019) from calibration gradients, checked
/// against values worked out by hand.</summary>
public class TaylorImportanceTests : TempDirectoryTest
{
    /// <summary>A 2→2 linear layer, W = [[1, 0.4], [0.25, 1]], no bias; one image x = (3, 0.1) of class 0. Then
    /// z = Wx = (3.04, 0.85), p = softmax(z), ∂L/∂z = p − e₀ = (−p₁, p₁) and ∂L/∂W = (∂L/∂z) xᵀ, so
    /// |W·∂L/∂W| = p₁ · [[3, 0.04], [0.75, 0.1]]: Taylor ranks W₀₁ &lt; W₁₁ &lt; W₁₀ &lt; W₀₀ where L1 ranks W₁₀ &lt; W₀₁ &lt; W₀₀ = W₁₁.</summary>
    private static PrunableLinear TinyLayer()
    {
        var layer = new PrunableLinear(2, 2, bias: false);
        using (no_grad()) layer.Weight.copy_(tensor(new float[] { 1, 0.4f, 0.25f, 1 }).reshape(2, 2));
        return layer;
    }

    private static (Tensor, Tensor) Batch(float a, float b, long label) =>
        (tensor(new[] { a, b }).reshape(1, 2), tensor(new[] { label }));

    private static double P1(double z0, double z1) => Math.Exp(z1) / (Math.Exp(z0) + Math.Exp(z1));

    [Test]
    public void GradientsAreTheHandComputedOnesSummedOverTheCalibrationBatches()
    {
        using var layer = TinyLayer();
        Assert.That(TaylorCalibration.Accumulate(layer, [Batch(3, 0.1f, 0)]), Is.EqualTo(1));
        double p1 = P1(3.04, 0.85);
        var expected = new[] { -p1 * 3, -p1 * 0.1, p1 * 3, p1 * 0.1 };
        Assert.That(layer.Weight.grad!.data<float>().ToArray().Select(v => (double)v), Is.EqualTo(expected).Within(1e-6));

        // A second batch (x = (0, 1), class 1: z = (0.4, 1), ∂L/∂z = (p₀, −p₀) with p₀ = 1 − P1(0.4, 1)) adds its gradient.
        Assert.That(TaylorCalibration.Accumulate(layer, [Batch(3, 0.1f, 0), Batch(0, 1, 1)]), Is.EqualTo(2));
        double q0 = 1 - P1(0.4, 1);
        var summed = new[] { -p1 * 3 + 0, -p1 * 0.1 + q0, p1 * 3 - 0, p1 * 0.1 - q0 };
        Assert.That(layer.Weight.grad!.data<float>().ToArray().Select(v => (double)v), Is.EqualTo(summed).Within(1e-6), "calibration starts from zero and sums");
        Assert.That(layer.training, Is.True, "the module's mode is restored");
    }

    [Test]
    public void FineGrainedTaylorPrunesTheWeightsOfSmallestWTimesGradient()
    {
        using var layer = TinyLayer();
        TaylorCalibration.Accumulate(layer, [Batch(3, 0.1f, 0)]);
        FineGrainedPruner.Prune(layer, new FineGrainedOptions { Method = FineGrainedMethods.Taylor, Amount = 0.5 });
        Assert.That(layer.Mask!.data<float>().ToArray(), Is.EqualTo(new float[] { 1, 0, 1, 0 }), "W₀₁ (0.04 p₁) and W₁₁ (0.1 p₁) go");

        using var l1 = TinyLayer();
        FineGrainedPruner.Prune(l1, new FineGrainedOptions { Method = FineGrainedMethods.L1, Amount = 0.5 });
        Assert.That(l1.Mask!.data<float>().ToArray(), Is.EqualTo(new float[] { 1, 0, 0, 1 }), "L1 removes W₁₀ and W₀₁ instead");

        using var noGrad = TinyLayer();
        Assert.That(() => FineGrainedPruner.Prune(noGrad, new FineGrainedOptions { Method = FineGrainedMethods.Taylor, Amount = 0.5 }),
            Throws.ArgumentException.With.Message.Contains("--data"));
    }

    [Test]
    public void ChannelTaylorScoresAreTorchPruningsGroupReduction()
    {
        using var model = ModelLoader.LoadNetwork("none", "resnet18");
        manual_seed(5);
        TaylorCalibration.Accumulate(model.Module, [(randn(4, 3, 32, 32), randint(0, 10, [4]))]);
        var graph = DependencyGraph.Build(model);
        var modules = ChannelImportance.Modules(model);
        foreach (var group in graph.Groups.Take(6))
        {
            using var score = ChannelImportance.Score(model, group, ChannelImportances.Taylor);
            // By hand: per conv/linear member Σ|w·g| over its slice (output rows, or input columns), BatchNorm not
            // counted (Torch-Pruning 1.6.1's Taylor branch matches GroupNorm only), mean over members, over its mean.
            var perMember = new List<Tensor>();
            foreach (var m in group.Members)
            {
                if (modules[m.Layer] is not PrunableLayer layer || m.Role == Harness.Model.Channels.ChannelRole.Depthwise) continue;
                var wg = (layer.Weight.detach() * layer.Weight.grad!).abs().to(float64);
                if (wg.dim() == 2) wg = wg.unsqueeze(-1).unsqueeze(-1);
                perMember.Add(m.Role == Harness.Model.Channels.ChannelRole.In ? wg.sum([0, 2, 3]) : wg.sum([1, 2, 3]));
            }
            var mean = stack(perMember).mean([0]);
            var expected = mean / mean.mean();
            Assert.That(allclose(score, expected, rtol: 1e-9, atol: 0), Is.True, group.Describe());
        }
    }

    [Test]
    public void TheCommandsComputeTaylorFromDataAndRefuseItWithout()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 8, 8);
        string outPath = Path.Combine(Dir, "t.pth");
        var (code, _, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "channel", "--arch", "resnet18", "--importance", "Taylor", "--out", outPath);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim(), Is.EqualTo("error: --importance Taylor computes gradients from data: pass --data (and --calibration-batches)"));
        (code, _, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "fine-grained", "--arch", "resnet18", "--data", data, "--out", outPath);
        Assert.That((code, error.Trim()), Is.EqualTo((2, "error: --data is only read for Taylor importance (--method Taylor)")));

        (code, var output, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "channel", "--arch", "resnet18", "--importance", "Taylor", "--data", data,
            "--image-size", "32", "--batch-size", "8", "--calibration-batches", "2", "--ratio", "0.5", "--out", outPath);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("gradients summed over 2 calibration batch(es) of 8 images at 32 px"));
        string fg = Path.Combine(Dir, "fg.pth");
        (code, _, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "fine-grained", "--arch", "resnet18", "--method", "Taylor", "--data", data,
            "--image-size", "32", "--batch-size", "8", "--calibration-batches", "1", "--ratio", "0.5", "--out", fg);
        Assert.That(code, Is.EqualTo(0), error);
    }
}
