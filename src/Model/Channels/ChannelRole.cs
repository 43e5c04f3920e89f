namespace Harness.Model.Channels;

/// <summary>How a layer takes part in a channel space: its output channels, its input channels, a depthwise conv
/// (whose input and output channels are the same channels, weight [C, 1, k, k]), or a BatchNorm's per-channel
/// parameters and running statistics. The channel pruner slices by these roles alone.</summary>
public enum ChannelRole { Out, In, Depthwise, BatchNorm }
