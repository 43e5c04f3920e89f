using Harness.Pruning.Criteria;

namespace Harness.Pruning.Channels;

/// <summary>The channel importance criteria Harness offers, in the order help texts list them.</summary>
public static class ChannelImportances
{
    public static IChannelImportance L1 { get; } = new L1Importance();
    public static IChannelImportance L2 { get; } = new L2Importance();
    public static IChannelImportance BatchNormScale { get; } = new BatchNormScaleImportance();
    public static IChannelImportance Random { get; } = new RandomImportance();
    public static IChannelImportance Taylor { get; } = new TaylorImportance();

    public static CriterionRegistry<IChannelImportance> Registry { get; } =
        new("channel importance", L1, L2, BatchNormScale, Random, Taylor);
}
