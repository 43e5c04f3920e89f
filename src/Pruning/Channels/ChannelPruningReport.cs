using Harness.Model.Channels;

namespace Harness.Pruning.Channels;

/// <summary>Per group: layers, width before and after, removed channel indices; and the width of every declared
/// channel space of the result.</summary>
public sealed record ChannelPruningReport(IReadOnlyList<GroupReport> Groups, IReadOnlyDictionary<string, int> SpaceWidths)
{
    /// <summary>One line per group for a person: id, kind, width before → after (the removed indices are in the JSON
    /// form, <c>prune channel --json</c>; a B0 at 0.5 removes thousands).</summary>
    public string ToText() => string.Join("\n", Groups.Select(g =>
        $"group {g.Id} [{g.Kind.Label()}] {g.Before} → {g.After}" + (g.Removed.Count > 0 ? $" ({g.Removed.Count} removed)" : " (untouched)"))) + "\n";
}
