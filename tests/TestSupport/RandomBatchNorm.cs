using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Tests.TestSupport;

/// <summary>Gives every BatchNorm of a model random affine parameters and running statistics (γ, var in [0.5, 1.5],
/// β, mean ~ 0.1·N(0, 1)), so that eval-mode BatchNorm is far from the identity a fresh model has. Seeds torch's
/// global generator.</summary>
public static class RandomBatchNorm
{
    public static void Randomise(nn.Module model, int seed)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        manual_seed(seed);
        foreach (var bn in model.modules().OfType<BatchNorm2d>())
        {
            long n = bn.weight!.shape[0];
            bn.weight.copy_(rand(n) + 0.5);
            bn.bias!.copy_(randn(n) * 0.1);
            bn.running_mean!.copy_(randn(n) * 0.1);
            bn.running_var!.copy_(rand(n) + 0.5);
        }
    }
}
