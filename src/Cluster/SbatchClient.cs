using System.ComponentModel;
using System.Diagnostics;

namespace Harness.Cluster;

/// <summary><c>sbatch --parsable</c> (with <c>SLURM_CONF</c> and the rest of this process's environment).</summary>
public sealed class SbatchClient : ISlurmClient
{
    public string Submit(IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo("sbatch") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--parsable");
        foreach (var a in arguments) start.ArgumentList.Add(a);
        Process p;
        try
        {
            p = Process.Start(start)!;
        }
        catch (Win32Exception ex)
        {
            throw new IOException($"sbatch: not found ({ex.Message}); run 'harness slurm submit' where Slurm's client commands are installed, or pass --dry-run", ex);
        }
        using (p)
        {
            string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new IOException($"sbatch {string.Join(' ', arguments)}: exit code {p.ExitCode}: {stderr.Trim().Replace('\n', ' ')}");
            // --parsable prints "jobid" or "jobid;cluster".
            string id = stdout.Trim().Split(';')[0];
            if (id.Length == 0 || !id.All(char.IsAsciiDigit))
                throw new IOException($"sbatch printed '{stdout.Trim()}', not a job id");
            return id;
        }
    }
}
