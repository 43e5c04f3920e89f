using Harness.Pruning.Criteria;

namespace Harness.Pruning.Channels;

/// <summary>JSON form of an <see cref="IChannelImportance"/>: its name.</summary>
public sealed class ChannelImportanceJsonConverter() : CriterionJsonConverter<IChannelImportance>(() => ChannelImportances.Registry);
