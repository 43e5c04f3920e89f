using static TorchSharp.torch;

namespace Harness.Model.Layers;

/// <summary>
/// A module whose children are registered explicitly, by the names torchvision gives them ("0", "block",
/// "fc1"…). TorchSharp's reflection-based registration is switched off so that typed fields kept for
/// convenience never appear in the module tree or the state dict.
/// </summary>
public abstract class ExplicitModule : nn.Module<Tensor, Tensor>
{
    protected ExplicitModule(string name) : base(name) { }

    protected override void RegisterComponents() { }

    protected T Add<T>(string name, T module) where T : nn.Module
    {
        register_module(name, module);
        return module;
    }

    /// <summary>Folds the child BatchNorm <paramref name="name"/> into <paramref name="conv"/> (folded weight and bias,
    /// <see cref="BatchNormFolding.FoldedTensors"/>) and registers an identity under its name; returns null, the
    /// caller's new value for its field (a null norm is already folded and left as it is).</summary>
    protected TorchSharp.Modules.BatchNorm2d? FoldChildNorm(PrunableConv2d conv, TorchSharp.Modules.BatchNorm2d? norm, string name) =>
        FoldNormInto(conv, norm, identity =>
        {
            register_module(name, null!);
            register_module(name, identity);
        });

    /// <summary>Folds <paramref name="norm"/> into <paramref name="conv"/> and hands an identity to
    /// <paramref name="putIdentity"/>, which registers it where the norm was; returns null (a null norm is already
    /// folded and left as it is).</summary>
    protected static TorchSharp.Modules.BatchNorm2d? FoldNormInto(PrunableConv2d conv, TorchSharp.Modules.BatchNorm2d? norm,
        Action<nn.Module<Tensor, Tensor>> putIdentity)
    {
        if (norm is null) return null;
        using (var scope = NewDisposeScope())
        {
            var (w, b) = BatchNormFolding.FoldedTensors(conv, norm);
            conv.Replace(w, b);
        }
        putIdentity(nn.Identity());
        norm.Dispose();
        return null;
    }

    /// <summary>The BatchNorm's output, or <paramref name="x"/> once it is folded (null).</summary>
    protected static Tensor NormOrIdentity(TorchSharp.Modules.BatchNorm2d? norm, Tensor x) => norm is null ? x : norm.call(x);

    /// <summary>A folded module runs in eval mode only (training needs its BatchNorms: fold after training).</summary>
    protected void RequireEvalWhenFolded(bool folded)
    {
        if (folded && training)
            throw new InvalidOperationException(
                "a model whose BatchNorm is folded runs in eval mode only (training needs the BatchNorm: fold after training)");
    }
}
