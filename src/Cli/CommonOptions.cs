using System.CommandLine;

namespace Harness.Cli;

/// <summary>Options every command spells the same way.</summary>
public static class CommonOptions
{
    /// <summary><c>--weights</c> where a command runs without trained weights: <c>none</c> unless given, so that it
    /// runs offline.</summary>
    public static Option<string> Weights() => new("--weights")
    {
        Description = "imagenet (torchvision's checkpoint, from the torch hub cache or downloaded), none (random init, seeded by --seed where the command has one, else 0), mlnet-resnet18 (ML.NET's ImageNet-trained ResNet-18, which building src/Cli restores from NuGet; imported with its preprocessing), a checkpoint path, or an ONNX model (imported; see 'import onnx')",
        DefaultValueFactory = _ => "none",
    };

    /// <summary><c>--weights</c> where only a trained model makes sense (evaluate, predict): required, and the
    /// description says which file to pass.</summary>
    public static Option<string> TrainedWeights(bool onnx = false) => new("--weights")
    {
        Description = "the trained model: a checkpoint path (train writes <out>/models/<name>.pth, prune pruned_models/…)" +
                      (onnx ? ", or an .onnx file (run by ONNX Runtime; --runtime torch imports it)" : ", or an ONNX model (imported)") + "; imagenet or none also accepted",
        Required = true,
    };

    /// <summary><c>--arch</c>: the network <c>--weights none</c> and <c>imagenet</c> build (efficientnet_b0 when not
    /// given); with a checkpoint, the family it must hold (its own architecture when not given).</summary>
    public static Option<string?> Arch()
    {
        var option = new Option<string?>("--arch")
        {
            Description = $"network for --weights none/imagenet: {string.Join(", ", Harness.Model.Networks.Architectures.VariantNames)} " +
                          $"(default {Harness.Model.ModelLoader.DefaultVariant}); with a checkpoint, the architecture it must hold (default: whatever it holds)",
        };
        return option.OneOf([.. Harness.Model.Networks.Architectures.VariantNames]);
    }

    /// <summary><c>--include</c> / <c>--exclude</c> (alias <c>--ignore</c>): which layers a pruning command touches, by
    /// <see cref="Harness.Pruning.LayerSelection"/>'s rule (names or regular expressions, repeatable; a pattern that
    /// names no layer is refused).</summary>
    public static (Option<string[]> Include, Option<string[]> Exclude) LayerSelection(string what) =>
    (
        new Option<string[]>("--include") { Description = $"layer names or regular expressions (repeatable): {what}; default every layer", AllowMultipleArgumentsPerToken = true },
        new Option<string[]>("--exclude", "--ignore") { Description = "layer names or regular expressions (repeatable) of layers left as they are (Torch-Pruning's ignored_layers; default none); a pattern that names no layer is refused", AllowMultipleArgumentsPerToken = true }
    );

    /// <summary><c>--threads N</c>: libtorch's intra-op threads (and ONNX Runtime's where a command uses it), applied by
    /// <see cref="CliRunner"/> before the command runs.</summary>
    public static Option<int?> Threads() => new Option<int?>("--threads")
    {
        Description = "intra-op threads of libtorch and ONNX Runtime (default: libtorch's, one per core)",
    }.AtLeast(1);

    /// <summary><c>--memory-format auto|channels-last|contiguous</c>: the layout of activations
    /// (<see cref="Harness.Runtime.MemoryLayout"/>), applied by <see cref="CliRunner"/> before the command runs.</summary>
    public static Option<string> MemoryFormat() => new Option<string>("--memory-format")
    {
        Description = "layout of activations: channels-last (NHWC strides, oneDNN's fast path), contiguous (NCHW), or auto (channels-last on the CPU, contiguous elsewhere)",
        DefaultValueFactory = _ => "auto",
    }.AcceptOnlyFromAmong("auto", "channels-last", "contiguous");

    public static Option<bool> Force() => new("--force")
    {
        Description = "recompute and replace results an earlier run left in the output folder (also when its settings differ)",
    };

    public static Option<bool> Json() => new("--json") { Description = "print machine-readable JSON instead of tables" };

    public static Option<int> Classes(int defaultValue = 10) => new("--classes")
    {
        Description = "number of classes of the head (10 for CIFAR-10)",
        DefaultValueFactory = _ => defaultValue,
    };

    public static Option<string> Device() => new("--device")
    {
        Description = "cpu, cuda or auto (cuda when available)",
        DefaultValueFactory = _ => "auto",
    };
}
