using Harness.Pruning.Channels;

namespace Harness.Experiments.Kinds;

/// <summary>Network slimming's pruning step (Liu et al. 2017): channel pruning by BatchNorm scale, best after a base
/// model trained with <see cref="StudyConfig.BnL1"/>.</summary>
public sealed class SlimmingExperiment : ChannelExperiment
{
    public static new SlimmingExperiment Instance { get; } = new();

    public override string Describe(ExperimentSpec e, StudyConfig config) =>
        $"network slimming: channel pruning {e.Amount} by BatchNorm scale (round_to {config.RoundTo}){(config.BnL1 > 0 ? $" of the base model trained with λ = {config.BnL1}" : "")}, {e.Epochs} epochs{(config.PruningSteps > 1 ? $" per step × {config.PruningSteps} steps" : "")}";

    protected override IChannelImportance Importance(StudyConfig config) => ChannelImportances.BatchNormScale;

    protected override bool UsesStudyImportance => false;
}
