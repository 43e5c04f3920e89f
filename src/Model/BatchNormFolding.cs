using Harness.Model.Layers;
using Harness.Model.Networks;
using Harness.Runtime;
using Harness.Storage.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model;

/// <summary>
/// Folds every BatchNorm of a network (any architecture Harness builds) into the convolution before it, for
/// inference: per output channel <c>s = γ / √(var + ε)</c>, <c>w' = w · s</c>, <c>b' = (b − mean) · s + β</c> (a conv
/// without bias has b = 0), with the running statistics of eval mode. Masked layers fold their effective weight
/// (<c>weight_orig * weight_mask</c>); pruned entries stay exactly +0. The result is a new network of the same
/// architecture and widths whose module tree keeps torchvision's names: every module that owns conv → BatchNorm
/// pairs (<see cref="INormFolding"/>: <see cref="ConvNormActivation"/>, ResNet's stem and blocks, MobileNetV2's
/// projections) has convs with bias and identities where its BatchNorms were; the other layers carry their effective
/// weights; no layer is masked. It is on the source's device and dtype; the source is left unchanged. A folded
/// model runs in eval mode only.
/// </summary>
public static class BatchNormFolding
{
    /// <summary>The folded copy of <paramref name="model"/>, which must be in eval mode (folding uses the running
    /// statistics; a model in train mode would normalise with batch statistics instead) and not folded already.</summary>
    public static TNet Fold<TNet>(TNet model) where TNet : class, IPrunableNetwork
    {
        if (model.Module.training)
            throw new InvalidOperationException(
                "BatchNorm folding needs a model in eval mode (it uses the running statistics): call eval() first");
        if (IsFolded(model)) throw new InvalidOperationException("the model's BatchNorms are already folded");
        var placement = Placement.Of(model.Module);
        var source = model.PrunableLayers().ToDictionary(l => l.Name, l => l.Layer);
        var folded = model.Rebuild(new Dictionary<string, int>());
        try
        {
            placement.Apply(folded.Module);
            folded.Module.eval();
            using var _ = no_grad();
            // The copy takes the source's masks and then its every tensor, so it computes what the source computes.
            foreach (var (name, layer) in folded.PrunableLayers())
                if (source[name].Mask is { } mask) layer.ApplyMask(mask);
            using (var sd = StateDict.FromModule(model.Module))
                StateDictLoader.Load(folded.Module, sd, strict: true, sourceName: "the model being folded");
            foreach (var owner in Owners(folded).ToList()) owner.FoldNorms();
            foreach (var (_, layer) in folded.PrunableLayers().Where(l => l.Layer.IsMasked).ToList())
            {
                using var scope = NewDisposeScope();
                layer.Replace(EffectiveWeight(layer), layer.Bias?.detach().clone());
            }
            return (TNet)folded;
        }
        catch
        {
            folded.Dispose();
            throw;
        }
    }

    /// <summary>True when any BatchNorm of the network is folded (<see cref="Fold"/>'s result).</summary>
    public static bool IsFolded(IPrunableNetwork model) => Owners(model).Any(o => o.IsFolded);

    /// <summary>The network's modules that own conv → BatchNorm pairs, the root included, in module order.</summary>
    private static IEnumerable<INormFolding> Owners(IPrunableNetwork model) =>
        new[] { (nn.Module)model.Module }.Concat(ModuleOrder.Named(model.Module).Select(m => m.Module)).OfType<INormFolding>();

    /// <summary>The folded weight and bias of one conv followed by one BatchNorm (computed in float64, returned in
    /// the conv's dtype).</summary>
    public static (Tensor Weight, Tensor Bias) FoldedTensors(PrunableConv2d conv, BatchNorm2d norm)
    {
        using var scope = NewDisposeScope();
        var dtype = conv.Weight.dtype;
        var w = EffectiveWeight(conv).to(ScalarType.Float64);
        // Scalars made explicitly and kept alive across the native calls: TorchSharp's implicit double → Scalar
        // conversions are left to the finalizer, which may free one while libtorch still reads it (seen as
        // "Unknown scalar type" when many exports run back to back).
        using var eps = norm.eps.ToScalar();
        using var one = 1.0.ToScalar();
        using var zero = 0.0.ToScalar();
        // add(x) would pass its alpha as another implicit Scalar: both are given.
        var scale = norm.weight!.to(ScalarType.Float64) / norm.running_var!.to(ScalarType.Float64).add(eps, one).sqrt();
        var bias = conv.Bias is null ? zeros_like(scale) : conv.Bias.to(ScalarType.Float64);
        var foldedW = w * scale.view(-1, 1, 1, 1);
        if (conv.Mask is not null) foldedW = foldedW.masked_fill(conv.Mask.eq(zero), zero);
        // Not `a - b` or `a + b`: TorchSharp's operators pass an implicit alpha Scalar that the finalizer may free
        // while libtorch reads it (a crash "toDouble: Expected false to be true" after hundreds of exports).
        using var minusOne = (-1.0).ToScalar();
        var foldedB = bias.add(norm.running_mean!.to(ScalarType.Float64), minusOne).mul(scale).add(norm.bias!.to(ScalarType.Float64), one);
        return (foldedW.to(dtype).MoveToOuterDisposeScope(), foldedB.to(dtype).MoveToOuterDisposeScope());
    }

    /// <summary>The weight the forward pass uses, with pruned entries exactly +0 (as <see cref="PrunableLayer.MakePermanent"/>).</summary>
    private static Tensor EffectiveWeight(PrunableLayer layer)
    {
        if (layer.Mask is null) return layer.Weight.detach();
        using var zero = 0.0.ToScalar();
        return layer.Weight.masked_fill(layer.Mask.eq(zero), zero);
    }
}
