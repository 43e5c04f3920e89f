using Harness.Experiments.Latency;
using Harness.Pruning.Channels;
using System.Globalization;

namespace Harness.Experiments.Kinds;

/// <summary>Channel pruning to a fraction of the base model's measured latency (<c>channelTargetLatency</c>): the
/// per-group widths allocated on the latency model of the study's latency runtime, batch and threads at its image
/// size (<see cref="LatencyTargetSearch"/>, the table cached in the user's cache folder), then fine-tuned like a
/// channel experiment. One-shot: the widths are the target's.</summary>
public sealed class ChannelLatencyExperiment : ChannelExperiment
{
    public static new ChannelLatencyExperiment Instance { get; } = new();

    public override string Describe(ExperimentSpec e, StudyConfig config) =>
        $"channel pruning to {e.Amount} of the base model's latency ({config.LatencySetting().Describe()}; {config.ChannelImportance.Name}, round_to {config.RoundTo}, widths allocated on the measured latency model), {e.Epochs} epochs";

    public override void AddSettings(IDictionary<string, string?> settings, ExperimentSpec e, StudyConfig config)
    {
        base.AddSettings(settings, e, config);
        settings["latency_runtime"] = config.LatencyRuntime;
        settings["latency_batch_size"] = $"{config.LatencyBatchSize}";
        settings["latency_threads"] = $"{config.LatencySetting().Threads}";
    }

    public override (Model.Networks.IPrunableNetwork Model, double Reached) Prune(PruningStep step)
    {
        var config = step.Config;
        var options = new ChannelPruningOptions { RoundTo = config.RoundTo, Importance = Importance(config) };
        var target = new LatencyTarget(step.Experiment.Amount, false);
        var result = LatencyTargetSearch.Search(step.Model, options, target, new RuntimeLatencyProbe(config.LatencySetting()),
            new LatencyCache(config.LatencyCache ?? LatencyCache.DefaultFolder), step.Log, "channelTargetLatency");
        var (pruned, report) = ChannelPruner.PruneToWidths(step.Model, options, result.Widths);
        step.Model.Dispose();
        step.Log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  latency target {result.TargetFraction:0.###}: measured {result.MeasuredFraction:F3} of the base's {result.BaseMs:F2} ms on {result.Setting}; " +
            $"{report.Groups.Count(g => g.After < g.Before)} of {report.Groups.Count} channel groups narrowed, MACs {(double)result.Macs / result.BaseMacs:F3}, parameters {pruned.Module.parameters().Sum(p => p.numel()):N0}"));
        return (pruned, 1 - result.MeasuredFraction);
    }
}
