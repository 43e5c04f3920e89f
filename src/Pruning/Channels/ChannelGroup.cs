using Harness.Model.Channels;

namespace Harness.Pruning.Channels;

/// <summary>A set of channels that must be pruned together: the union of tied channel spaces; every member sees the
/// same <see cref="Channels"/> channels, in the same order. <see cref="Space"/> is the first declared space of the
/// union (a trunk is named after its first producer).</summary>
public sealed record ChannelGroup(int Id, SpaceKind Kind, string Space, int Channels, IReadOnlyList<ChannelMember> Members)
{
    /// <summary>Equal groups the channels form (the most any grouped conv member has; 1 for none): pruning removes the
    /// same positions from each, and Torch-Pruning's count and importance are per group (see <see cref="ChannelPruner"/>).</summary>
    public int ChannelGroups => Members.Select(m => m.Groups).DefaultIfEmpty(1).Max();

    public string Describe() =>
        $"group {Id} [{Kind.Label()}] {Channels} channels (0..{Channels - 1}){(ChannelGroups > 1 ? $" in {ChannelGroups} groups of {Channels / ChannelGroups}" : "")}: {string.Join("; ", Members)}";
}
