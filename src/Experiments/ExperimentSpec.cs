namespace Harness.Experiments;

public enum ExperimentKind { Base, FineGrained, Channel }

/// <summary>One experiment of the study: its name (used for every file it writes), kind, pruning amount and epochs.</summary>
public sealed record ExperimentSpec(string Name, ExperimentKind Kind, double Amount, int Epochs)
{
    /// <summary>The base experiment's name for a network: <c>&lt;arch&gt;_base</c> (the study's <c>efficientnet_b0_base</c>).</summary>
    public static string BaseNameOf(string arch) => $"{arch}_base";
}
