namespace Harness.Model.Channels;

/// <summary>One (layer, role) of a channel space; <see cref="Layer"/> is the module's state-dict name. A member whose
/// channels are a part of the layer's dimension (a concatenation's input, seen by the layers that read the
/// concatenation) starts at <see cref="Offset"/>; a linear layer reading a flattened C×H×W map sees each channel as
/// <see cref="Block"/> = H·W consecutive input columns.</summary>
public sealed record ChannelMember(string Layer, ChannelRole Role)
{
    /// <summary>Where the space's channels start in the layer's dimension (0 for the declared families).</summary>
    public int Offset { get; init; }

    /// <summary>Consecutive elements of the layer's dimension per channel (1 but for a flatten of a spatial map).</summary>
    public int Block { get; init; } = 1;

    /// <summary>A grouped conv's groups (1 &lt; groups &lt; channels; 1 otherwise): its channels are that many equal
    /// groups, and as an input (<see cref="ChannelRole.In"/>) channel c of the space is column c mod (width/groups) of
    /// every group's filters. A space a grouped conv takes part in loses the same positions in every group, as in
    /// Torch-Pruning.</summary>
    public int Groups { get; init; } = 1;

    public override string ToString() => (Role switch
    {
        ChannelRole.Out => $"{Layer} out",
        ChannelRole.In => $"{Layer} in",
        ChannelRole.Depthwise => $"{Layer} in=out (depthwise)",
        _ => $"{Layer} (BatchNorm)",
    }) + (Offset != 0 ? $" at {Offset}" : "") + (Block != 1 ? $" ×{Block}" : "") + (Groups != 1 ? $" in {Groups} groups" : "");
}
