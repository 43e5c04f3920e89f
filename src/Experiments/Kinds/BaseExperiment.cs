using Harness.Model.Networks;

namespace Harness.Experiments.Kinds;

/// <summary>The base model: fine-tuned from the study's weights (optionally with network slimming's BatchNorm L1
/// term), or a given base model evaluated as it is. Nothing is pruned.</summary>
public sealed class BaseExperiment : ExperimentProcedure
{
    public static BaseExperiment Instance { get; } = new();

    public override bool Prunes => false;

    public override string Describe(ExperimentSpec e, StudyConfig config) => config.BaseModel is not null
        ? $"evaluate the given base model {config.BaseModel}"
        : $"fine-tune {config.NetworkName} ({config.Weights}) for {e.Epochs} epochs";

    public override void AddSettings(IDictionary<string, string?> settings, ExperimentSpec e, StudyConfig config)
    {
        if (config.BnL1 > 0) settings["bn_l1"] = F(config.BnL1);
    }

    public override (IPrunableNetwork Model, double Reached) Prune(PruningStep step) =>
        throw new InvalidOperationException("the base experiment prunes nothing");
}
