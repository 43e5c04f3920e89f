namespace Harness.Pruning.Channels;

/// <summary>A set of channels that must be pruned together: every member sees the same <see cref="Channels"/>
/// channels, in the same order.</summary>
public sealed record ChannelGroup(int Id, string Kind, string Space, int Channels, IReadOnlyList<GroupMember> Members)
{
    public string Describe() =>
        $"group {Id} [{Kind}] {Channels} channels (0..{Channels - 1}): {string.Join("; ", Members)}";
}
