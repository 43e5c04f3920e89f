namespace Harness.Cluster;

/// <summary>One job of a submission: <c>base</c> (the base experiment), <c>pruned</c> (an array, one task per pruned
/// experiment) or <c>merge</c> (<c>harness report</c>); its script, the experiments it runs and the job it waits
/// for (<c>afterok</c> for the array on the base, <c>afterany</c> for the merge, which reports what is missing).</summary>
public sealed record SlurmJob(string Key, string ScriptPath, string Script, IReadOnlyList<string> Experiments, string? After, string AfterType)
{
    public bool IsArray => Key == "pruned";
}
