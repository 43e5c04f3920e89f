namespace Harness.Pruning.Channels;

/// <summary>How a layer takes part in a group: its output channels, its input channels, a depthwise conv (whose
/// input and output channels are the same channels), or a BatchNorm's per-channel parameters and statistics.</summary>
public enum MemberRole { Out, In, Depthwise, BatchNorm }

/// <summary>One (layer, role) of a group; <see cref="Layer"/> is the module's state-dict name.</summary>
public sealed record GroupMember(string Layer, MemberRole Role)
{
    public override string ToString() => Role switch
    {
        MemberRole.Out => $"{Layer} out",
        MemberRole.In => $"{Layer} in",
        MemberRole.Depthwise => $"{Layer} in=out (depthwise)",
        _ => $"{Layer} (BatchNorm)",
    };
}
