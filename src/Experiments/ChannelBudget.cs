using Harness.Metrics;
using Harness.Model.Networks;
using Harness.Pruning.Channels;

namespace Harness.Experiments;

/// <summary>What a channel-pruning budget counts: MACs under thop's rules at the input side, or parameters.</summary>
public enum BudgetMeasure { Macs, Parameters }

/// <summary>Pruning to a budget (<c>prune channel --target-macs | --target-params</c>, the study's
/// <c>channelTargetMacs</c>): the target read as a fraction or a count, the per-group ratio searched under the monotone
/// rule (<see cref="BudgetSearch"/>), and the options that reach it.</summary>
public static class ChannelBudget
{
    /// <summary>The measure of a network a budget counts.</summary>
    public static Func<IPrunableNetwork, long> Measure(BudgetMeasure measure, int imageSize) => measure == BudgetMeasure.Macs
        ? n => MacCounter.ThopMacs(n.Module, imageSize)
        : n => n.Module.parameters().Sum(p => p.numel());

    /// <summary>The options that meet <paramref name="target"/> (a fraction such as 0.5 or a count such as 200M, as
    /// <paramref name="option"/> gave it) with <paramref name="options"/>' other settings, and the search's result.</summary>
    public static (ChannelPruningOptions Options, BudgetResult Result) Resolve(IPrunableNetwork model, ChannelPruningOptions options,
        string target, BudgetMeasure measure, int imageSize, string option)
    {
        var measureOf = Measure(measure, imageSize);
        long count = BudgetSearch.ParseTarget(target, measureOf(model), option);
        var result = BudgetSearch.ForTarget(model, options, count, measureOf, option);
        return (options with { Ratio = result.Ratio, NeverUntouched = true }, result);
    }
}
