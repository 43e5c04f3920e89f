using System.CommandLine;

namespace Harness.Cli;

/// <summary>Options every command spells the same way.</summary>
public static class CommonOptions
{
    public static Option<string> Weights(string defaultValue = "none") => new("--weights")
    {
        Description = "imagenet (torchvision's checkpoint, from the torch hub cache or downloaded), none (random init, seeded by --seed where the command has one, else 0) or a checkpoint path",
        DefaultValueFactory = _ => defaultValue,
    };

    /// <summary><c>--arch</c>: the network <c>--weights none</c> and <c>imagenet</c> build (efficientnet_b0 when not
    /// given); with a checkpoint, the family it must hold (its own architecture when not given).</summary>
    public static Option<string?> Arch()
    {
        var option = new Option<string?>("--arch")
        {
            Description = $"network for --weights none/imagenet: {string.Join(", ", Harness.Model.Channels.Architectures.VariantNames)} " +
                          $"(default {Harness.Model.ModelLoader.DefaultVariant}); with a checkpoint, the architecture it must hold (default: whatever it holds)",
        };
        return option.OneOf([.. Harness.Model.Channels.Architectures.VariantNames]);
    }

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
