namespace Harness.Experiments;

public enum ExperimentKind { Base, FineGrained, Channel }

/// <summary>One experiment of the study: its name (used for every file it writes), kind, pruning amount and epochs.</summary>
public sealed record ExperimentSpec(string Name, ExperimentKind Kind, double Amount, int Epochs)
{
    public const string BaseName = "efficientnet_b0_base";
}
