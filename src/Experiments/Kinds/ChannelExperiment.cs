using Harness.Data;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using Harness.Training;

namespace Harness.Experiments.Kinds;

/// <summary>The study's channel experiment: Torch-Pruning's MetaPruner rule (each group keeps ⌊C·(1 − r)⌋ rounded
/// down to round_to) with the study's importance, fine-tuned. Iteratively, Torch-Pruning's linear scheduler: step k
/// prunes to ratio·k/K of the original widths. Slimming and MACs budgets are channel experiments with another
/// importance or ratio.</summary>
public class ChannelExperiment : ExperimentProcedure
{
    public static ChannelExperiment Instance { get; } = new();

    public override string Describe(ExperimentSpec e, StudyConfig config) => config.PruningSteps > 1
        ? $"channel pruning to {e.Amount} ({config.ChannelImportance.Name}, round_to {config.RoundTo}) in {config.PruningSteps} linear steps, {config.EpochsPerStep ?? e.Epochs} epochs after each"
        : $"channel pruning {e.Amount} ({config.ChannelImportance.Name}, round_to {config.RoundTo}) of the base model, {e.Epochs} epochs";

    /// <summary>The importance channels are ranked by.</summary>
    protected virtual IChannelImportance Importance(StudyConfig config) => config.ChannelImportance;

    /// <summary>Whether the experiment ranks by the study's <see cref="StudyConfig.ChannelImportance"/> (recorded in
    /// its manifest when not L1) rather than an importance of its own.</summary>
    protected virtual bool UsesStudyImportance => true;

    /// <summary>Whether a group the rule would leave untouched keeps round_to channels instead.</summary>
    protected virtual bool NeverUntouched(StudyConfig config) => config.NeverUntouched;

    /// <summary>The experiment's final ratio (a budget searches it on the first step).</summary>
    protected virtual double FinalRatio(PruningStep step) => step.Experiment.Amount;

    public override void AddSettings(IDictionary<string, string?> settings, ExperimentSpec e, StudyConfig config)
    {
        if (UsesStudyImportance && config.ChannelImportance != ChannelImportances.L1)
        {
            settings["importance"] = config.ChannelImportance.Name;
            if (config.ChannelImportance.NeedsGradients) settings["calibration_batches"] = $"{config.CalibrationBatches}";
        }
        settings["round_to"] = $"{config.RoundTo}";
        settings["never_untouched"] = config.NeverUntouched ? "true" : "false";
    }

    public override void Begin(PruningStep step)
    {
        if (step.Schedule.Steps > 1)
            step.State.OriginalWidths = DependencyGraph.Build(step.Model).Groups.ToDictionary(g => g.Space, g => g.Channels, StringComparer.Ordinal);
    }

    public override (IPrunableNetwork Model, double Reached) Prune(PruningStep step)
    {
        var config = step.Config;
        double target = step.Schedule.Linear(FinalRatio(step), step.Index);
        var importance = Importance(config);
        if (importance.NeedsGradients)
            TaylorCalibration.Accumulate(step.Model.Module,
                new BatchLoader(step.Train, config.BatchSize, false, new BatchTransform { ImageSize = config.ImageSize }, step.Device),
                config.CalibrationBatches);
        var (pruned, report) = ChannelPruner.Prune(step.Model, new ChannelPruningOptions
        {
            Ratio = target,
            RoundTo = config.RoundTo,
            NeverUntouched = NeverUntouched(config),
            Importance = importance,
            OriginalWidths = step.State.OriginalWidths,
        });
        step.Model.Dispose();
        step.Log.WriteLine($"  {step.LogPrefix(target)}pruned: {report.Groups.Count(g => g.After < g.Before)} of {report.Groups.Count} channel groups narrowed, " +
                           $"parameters {pruned.Module.parameters().Sum(p => p.numel()):N0}");
        return (pruned, target);
    }
}
