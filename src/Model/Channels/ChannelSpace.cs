namespace Harness.Model.Channels;

/// <summary>A set of channels that one layer writes and others read, with the (layer, role) pairs that see it, in
/// declaration order.</summary>
public sealed record ChannelSpace(string Name, SpaceKind Kind, int Width, IReadOnlyList<ChannelMember> Members);
