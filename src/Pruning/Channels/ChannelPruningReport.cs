using Harness.Model.Channels;

namespace Harness.Pruning.Channels;

/// <summary>Per group: layers, width before and after, removed channel indices; and the width of every declared
/// channel space of the result.</summary>
public sealed record ChannelPruningReport(IReadOnlyList<GroupReport> Groups, IReadOnlyDictionary<string, int> SpaceWidths)
{
    public string ToText() => string.Join("\n", Groups.Select(g =>
        $"group {g.Id} [{g.Kind.Label()}] {g.Before} → {g.After}" + (g.Removed.Count > 0 ? $" removed [{string.Join(", ", g.Removed)}]" : " (untouched)"))) + "\n";
}
