using Harness.Model.Channels;

namespace Harness.Pruning.Channels;

/// <summary>A set of channels that must be pruned together: the union of tied channel spaces; every member sees the
/// same <see cref="Channels"/> channels, in the same order. <see cref="Space"/> is the first declared space of the
/// union (a trunk is named after its first producer).</summary>
public sealed record ChannelGroup(int Id, SpaceKind Kind, string Space, int Channels, IReadOnlyList<ChannelMember> Members)
{
    public string Describe() =>
        $"group {Id} [{Kind.Label()}] {Channels} channels (0..{Channels - 1}): {string.Join("; ", Members)}";
}
