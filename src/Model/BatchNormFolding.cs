using TorchSharp;
using Harness.Model.Layers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model;

/// <summary>
/// Folds every BatchNorm of an EfficientNet into the convolution before it, for inference: per output channel
/// <c>s = γ / √(var + ε)</c>, <c>w' = w · s</c>, <c>b' = (b − mean) · s + β</c> (a conv without bias has b = 0),
/// with the running statistics of eval mode. Masked layers fold their effective weight (<c>weight_orig *
/// weight_mask</c>); pruned entries stay exactly +0. The result is a new EfficientNet with the same widths and
/// module tree (each <see cref="ConvNormActivation"/> has a conv with bias and an identity at "1"; SE convs and the
/// classifier are copied with their effective weights; no layer is masked), on the source's device and dtype. The
/// source is left unchanged. A folded model runs in eval mode only.
/// </summary>
public static class BatchNormFolding
{
    /// <summary>The folded copy of <paramref name="model"/>, which must be in eval mode (folding uses the running
    /// statistics; a model in train mode would normalise with batch statistics instead) and not folded already.</summary>
    public static EfficientNet Fold(EfficientNet model)
    {
        if (model.training)
            throw new InvalidOperationException(
                "BatchNorm folding needs a model in eval mode (it uses the running statistics): call eval() first");
        if (model.IsFolded) throw new InvalidOperationException("the model's BatchNorms are already folded");
        var source = model.named_modules().ToDictionary(m => m.name, m => m.module);
        var device = model.Stem.Conv.Weight.device;
        var dtype = model.Stem.Conv.Weight.dtype;
        var folded = new EfficientNet(model.Widths);
        try
        {
            folded.to(dtype).to(device);
            folded.eval();
            using var _ = no_grad();
            var folds = folded.named_modules().Where(m => m.module is ConvNormActivation)
                .Select(m => (Target: (ConvNormActivation)m.module, Origin: (ConvNormActivation)source[m.name])).ToList();
            var foldedConvs = folds.Select(f => (PrunableLayer)f.Target.Conv).ToHashSet(ReferenceEqualityComparer.Instance);
            foreach (var (target, origin) in folds)
            {
                using var scope = NewDisposeScope();
                var (w, b) = FoldedTensors(origin.Conv, origin.Norm!);
                target.FoldNorm(w, b);
            }
            foreach (var (name, layer) in folded.PrunableLayers().Where(l => !foldedConvs.Contains(l.Layer)).ToList())
            {
                using var scope = NewDisposeScope();
                var original = (PrunableLayer)source[name];
                layer.Replace(EffectiveWeight(original), original.Bias);
            }
            return folded;
        }
        catch
        {
            folded.Dispose();
            throw;
        }
    }

    /// <summary>The folded weight and bias of one conv followed by one BatchNorm (computed in float64, returned in
    /// the conv's dtype).</summary>
    public static (Tensor Weight, Tensor Bias) FoldedTensors(PrunableConv2d conv, BatchNorm2d norm)
    {
        using var scope = NewDisposeScope();
        var dtype = conv.Weight.dtype;
        var w = EffectiveWeight(conv).to(ScalarType.Float64);
        var scale = norm.weight!.to(ScalarType.Float64) / (norm.running_var!.to(ScalarType.Float64) + norm.eps).sqrt();
        var bias = conv.Bias is null ? zeros_like(scale) : conv.Bias.to(ScalarType.Float64);
        var foldedW = w * scale.view(-1, 1, 1, 1);
        if (conv.Mask is not null) foldedW = foldedW.masked_fill(conv.Mask.eq(0), 0.0);
        var foldedB = (bias - norm.running_mean!.to(ScalarType.Float64)) * scale + norm.bias!.to(ScalarType.Float64);
        return (foldedW.to(dtype).MoveToOuterDisposeScope(), foldedB.to(dtype).MoveToOuterDisposeScope());
    }

    /// <summary>The weight the forward pass uses, with pruned entries exactly +0 (as <see cref="PrunableLayer.MakePermanent"/>).</summary>
    private static Tensor EffectiveWeight(PrunableLayer layer) =>
        layer.Mask is null ? layer.Weight.detach() : layer.Weight.masked_fill(layer.Mask.eq(0), 0.0);
}
