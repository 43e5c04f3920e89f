using Harness.Model;

namespace Harness.Pruning.Channels;

/// <summary>Per group: layers, width before and after, removed channel indices; and the resulting widths.</summary>
public sealed record ChannelPruningReport(IReadOnlyList<GroupReport> Groups, EfficientNetWidths Widths)
{
    public string ToText() => string.Join("\n", Groups.Select(g =>
        $"group {g.Id} [{g.Kind}] {g.Before} → {g.After}" + (g.Removed.Count > 0 ? $" removed [{string.Join(", ", g.Removed)}]" : " (untouched)"))) + "\n";
}
