namespace Harness.Cluster;

/// <summary>Submits a batch script: <c>sbatch</c> on a cluster (<see cref="SbatchClient"/>).</summary>
public interface ISlurmClient
{
    /// <summary>Submits with these sbatch arguments (options, then the script) and returns the job id.</summary>
    string Submit(IReadOnlyList<string> arguments);
}
