namespace Harness.Pruning.Channels;

/// <summary>
/// How many channels to prune. Local (default, Torch-Pruning's MetaPruner): a group of C channels keeps
/// <c>(int)(C × (1 − ratio))</c> rounded down to a multiple of <see cref="RoundTo"/>; a group that would keep nothing
/// is left untouched. <see cref="NeverUntouched"/> keeps <see cref="RoundTo"/> channels instead (when C allows),
/// so every group is pruned. Global ranks normalised importances across groups.
/// </summary>
public sealed record ChannelPruningOptions
{
    public double Ratio { get; init; } = 0.2;
    public int RoundTo { get; init; } = 8;
    public IChannelImportance Importance { get; init; } = ChannelImportances.L1;
    public bool Global { get; init; }
    public double MaxRatio { get; init; } = 1.0;
    public bool NeverUntouched { get; init; }
    public ulong Seed { get; init; } = 42;
    /// <summary>Count depthwise kernels in the channel scores (Torch-Pruning leaves them out; so does the default).</summary>
    public bool DepthwiseInImportance { get; init; }
    /// <summary>Per-group ratio overrides by group id.</summary>
    public IReadOnlyDictionary<int, double> GroupRatios { get; init; } = new Dictionary<int, double>();
    /// <summary>Layers (state-dict module names) whose channels must not be pruned: any group holding one is skipped.
    /// The classifier's outputs are never pruned whatever this says.</summary>
    public IReadOnlyList<string> IgnoredLayers { get; init; } = [];
    /// <summary>Iterative pruning: the widths of the original (unpruned) network by space name. When given, a group
    /// keeps <see cref="KeptWidth"/> of its original width (Torch-Pruning's scheduler measures every step's ratio
    /// against the initial channels), or what it has if that is fewer.</summary>
    public IReadOnlyDictionary<string, int>? OriginalWidths { get; init; }

    public void Validate()
    {
        if (double.IsNaN(Ratio) || Ratio < 0 || Ratio >= 1) throw new ArgumentException($"--ratio {Ratio}: must lie in [0, 1)");
        if (RoundTo < 1) throw new ArgumentException($"--round-to {RoundTo}: must be at least 1");
        if (double.IsNaN(MaxRatio) || MaxRatio < 0 || MaxRatio > 1) throw new ArgumentException($"--max-ratio {MaxRatio}: must lie in [0, 1]");
        foreach (var (g, r) in GroupRatios)
            if (double.IsNaN(r) || r < 0 || r >= 1) throw new ArgumentException($"ratio {r} for group {g}: must lie in [0, 1)");
    }

    /// <summary>Channels a group of <paramref name="channels"/> keeps at <paramref name="ratio"/>.</summary>
    public int KeptWidth(int channels, double ratio)
    {
        ratio = Math.Min(ratio, MaxRatio);
        int kept = (int)(channels * (1.0 - ratio));
        kept -= kept % RoundTo;
        if (kept <= 0) return NeverUntouched && channels > RoundTo ? RoundTo : channels;
        return kept;
    }
}
