using static TorchSharp.torch;

namespace Harness.Export;

/// <summary>Folds an eval-mode BatchNorm into the conv before it, per output channel c:
/// s = γ / √(var + ε), w' = w · s, b' = (b − mean) · s + β (b = 0 for a conv without bias). Computed in float64,
/// returned in float32.</summary>
internal static class BatchNormFolding
{
    public static (Tensor Weight, Tensor Bias) Fold(Tensor weight, Tensor? bias, Tensor gamma, Tensor beta,
        Tensor runningMean, Tensor runningVar, double eps)
    {
        using var scope = NewDisposeScope();
        var scale = gamma.to(float64) / (runningVar.to(float64) + eps).sqrt();
        var w = weight.to(float64) * scale.reshape(-1, 1, 1, 1);
        var b0 = bias is null ? zeros_like(scale) : bias.to(float64);
        var b = (b0 - runningMean.to(float64)) * scale + beta.to(float64);
        return (w.to(float32).contiguous().MoveToOuterDisposeScope(), b.to(float32).contiguous().MoveToOuterDisposeScope());
    }
}
