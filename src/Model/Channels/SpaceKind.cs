namespace Harness.Model.Channels;

/// <summary>What a channel space is in its network; reports and <c>prune channel --graph</c> show it
/// (<see cref="SpaceKinds.Label"/>).</summary>
public enum SpaceKind
{
    /// <summary>The first conv's outputs.</summary>
    Stem,
    /// <summary>An inverted-residual block's expanded channels (EfficientNet's MBConv, MobileNetV2).</summary>
    Expand,
    /// <summary>The reduced channels inside a squeeze-excitation module.</summary>
    SqueezeExcitation,
    /// <summary>The channels that flow between blocks (tied by residual adds).</summary>
    Trunk,
    /// <summary>The last conv's outputs, read by the classifier.</summary>
    Head,
    /// <summary>Channels inside a block that no other block sees (ResNet's conv1/conv2 outputs).</summary>
    Inner,
}

public static class SpaceKinds
{
    public static string Label(this SpaceKind kind) => kind switch
    {
        SpaceKind.Stem => "stem",
        SpaceKind.Expand => "expand",
        SpaceKind.SqueezeExcitation => "squeeze-excitation",
        SpaceKind.Trunk => "trunk",
        SpaceKind.Head => "head",
        SpaceKind.Inner => "inner",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
