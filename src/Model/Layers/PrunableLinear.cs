using static TorchSharp.torch;

namespace Harness.Model.Layers;

/// <summary>A fully connected layer whose weight can be masked; state-dict names as <c>torch.nn.Linear</c>.</summary>
public sealed class PrunableLinear : PrunableLayer
{
    public PrunableLinear(long inFeatures, long outFeatures, bool bias = true)
        : base(nameof(PrunableLinear), empty(outFeatures, inFeatures), bias ? zeros(outFeatures) : null)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        // torchvision EfficientNet init: uniform(-1/sqrt(out), 1/sqrt(out)); zero bias.
        double range = 1.0 / Math.Sqrt(outFeatures);
        using (no_grad())
            nn.init.uniform_(Weight, -range, range);
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }

    public override Tensor forward(Tensor input)
    {
        if (!IsMasked) return nn.functional.linear(input, Weight, Bias);
        using var w = EffectiveWeight();
        return nn.functional.linear(input, w, Bias);
    }
}
