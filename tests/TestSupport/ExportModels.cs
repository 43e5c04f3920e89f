using Harness.Model;
using Harness.Model.Families;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using Harness.Pruning.FineGrained;
using static TorchSharp.torch;

namespace Harness.Tests.TestSupport;

/// <summary>Networks of each <see cref="ExportKind"/>, saved and read back as a checkpoint (what <c>export onnx</c>
/// reads), with randomised BatchNorm statistics and affine parameters so that folding is really exercised.</summary>
public static class ExportModels
{
    public static EfficientNetConfig Tiny => EfficientNetConfig.Scaled(0.25, 0.34, 10);

    /// <summary>Builds the kind, writes it to <paramref name="path"/> and returns the network read back (eval mode).</summary>
    public static EfficientNet Checkpoint(ExportKind kind, EfficientNetConfig config, string path, long seed = 1) =>
        (EfficientNet)Checkpoint(kind, EfficientNetWidths.FromConfig(config), path, seed);

    /// <summary>Builds the kind of a network of any architecture, writes it to <paramref name="path"/> and returns
    /// the network read back (eval mode). Masks prune half of each layer (per-layer L1: a global threshold would
    /// remove MobileNetV2's whole N(0, 0.01²) classifier and leave logits that are all zero).</summary>
    public static IPrunableNetwork Checkpoint(ExportKind kind, INetworkWidths widths, string path, long seed = 1)
    {
        manual_seed(seed);
        var model = widths.Build();
        RandomiseBatchNorm(model.Module, seed);
        switch (kind)
        {
            case ExportKind.Masked:
                FineGrainedPruner.Prune(model.Module, new FineGrainedOptions { Amount = 0.5, Scope = PruningScope.Layer });
                break;
            case ExportKind.Permanent:
                FineGrainedPruner.Prune(model.Module, new FineGrainedOptions { Amount = 0.5, Scope = PruningScope.Layer });
                FineGrainedPruner.MakePermanent(model.Module);
                break;
            case ExportKind.ChannelPruned:
                var (pruned, _) = ChannelPruner.Prune(model, new ChannelPruningOptions { Ratio = 0.5, RoundTo = 8 });
                model.Dispose();
                model = pruned;
                break;
        }
        ModelLoader.Save(model, path);
        model.Dispose();
        var back = ModelLoader.LoadNetwork(path);
        back.Module.eval();
        return back;
    }

    /// <summary>Running mean N(0, 0.3²), running variance U(0.5, 2), γ U(0.5, 1.5), β N(0, 0.2²) in every BatchNorm.</summary>
    public static void RandomiseBatchNorm(TorchSharp.torch.nn.Module model, long seed)
    {
        using var generator = new Generator((ulong)seed + 1000);
        using var _ = no_grad();
        foreach (var bn in model.modules().OfType<TorchSharp.Modules.BatchNorm2d>())
        {
            using var scope = NewDisposeScope();
            long c = bn.running_mean!.shape[0];
            bn.running_mean.copy_(randn(c, generator: generator) * 0.3);
            bn.running_var!.copy_(rand(c, generator: generator) * 1.5 + 0.5);
            bn.weight!.copy_(rand(c, generator: generator) + 0.5);
            bn.bias!.copy_(randn(c, generator: generator) * 0.2);
        }
    }
}
