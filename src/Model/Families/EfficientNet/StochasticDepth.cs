using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Model.Families;

/// <summary>torchvision's StochasticDepth in "row" mode: in training, each sample's residual branch is dropped
/// with probability <see cref="Probability"/> and the survivors are scaled by 1/(1-p); identity in eval mode.</summary>
public sealed class StochasticDepth : ExplicitModule
{
    public StochasticDepth(double probability) : base(nameof(StochasticDepth))
    {
        if (probability is < 0 or > 1 || double.IsNaN(probability))
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "must lie in [0, 1]");
        Probability = probability;
    }

    public double Probability { get; }

    public override Tensor forward(Tensor input)
    {
        if (!training || Probability == 0.0) return input.alias();
        double survival = 1.0 - Probability;
        using var scope = NewDisposeScope();
        var shape = new long[input.dim()];
        Array.Fill(shape, 1L);
        shape[0] = input.shape[0];
        var noise = empty(shape, input.dtype, input.device).bernoulli_(survival);
        if (survival > 0.0) noise.div_(survival);
        return (input * noise).MoveToOuterDisposeScope();
    }
}
