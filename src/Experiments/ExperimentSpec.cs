namespace Harness.Experiments;

/// <summary>Base: the (fine-tuned) base model. FineGrained: global L1 masks. Channel: channel pruning by L1 group
/// importance. Slimming: network slimming's pruning step (Liu et al. 2017) — channel pruning by BatchNorm scale, best
/// after a base model trained with <see cref="StudyConfig.BnL1"/>.</summary>
/// ChannelBudget: channel pruning to a fraction of the base model's thop MACs (the ratio found by
/// <c>BudgetSearch</c>; <see cref="ExperimentSpec.Amount"/> is that fraction). ChannelLatency: channel pruning to a
/// fraction of the base model's measured latency (<c>LatencyTargetSearch</c>; the amount is that fraction).
public enum ExperimentKind { Base, FineGrained, Channel, Slimming, ChannelBudget, ChannelLatency }

/// <summary>One experiment of the study: its name (used for every file it writes), kind, pruning amount and epochs.</summary>
public sealed record ExperimentSpec(string Name, ExperimentKind Kind, double Amount, int Epochs)
{
    /// <summary>The base experiment's name for a network: <c>&lt;arch&gt;_base</c> (the study's <c>efficientnet_b0_base</c>).</summary>
    public static string BaseNameOf(string arch) => $"{arch}_base";
}
