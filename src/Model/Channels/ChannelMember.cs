namespace Harness.Model.Channels;

/// <summary>One (layer, role) of a channel space; <see cref="Layer"/> is the module's state-dict name.</summary>
public sealed record ChannelMember(string Layer, ChannelRole Role)
{
    public override string ToString() => Role switch
    {
        ChannelRole.Out => $"{Layer} out",
        ChannelRole.In => $"{Layer} in",
        ChannelRole.Depthwise => $"{Layer} in=out (depthwise)",
        _ => $"{Layer} (BatchNorm)",
    };
}
