using System.Diagnostics;

namespace Harness.Tests.Unit.Cluster;

/// <summary>The Slurm the tests submit to: <c>SLURM_CONF</c>, else the one <c>scripts/slurm-local.sh start</c> runs
/// (<c>/tmp/harness-slurm</c>); a test that needs it is skipped, saying how to start one, where none answers.</summary>
public static class SlurmCluster
{
    public static void Require()
    {
        string conf = Environment.GetEnvironmentVariable("SLURM_CONF") is { Length: > 0 } c ? c : "/tmp/harness-slurm/slurm.conf";
        if (!File.Exists(conf) || Run("sinfo", "-h", "-o", "%t") is not (0, var states) || !states.Contains("idle") && !states.Contains("mix") && !states.Contains("alloc"))
            Assert.Ignore($"Skipped: no Slurm cluster answers (SLURM_CONF {conf}); start one with 'scripts/slurm-local.sh start' and export the SLURM_CONF it prints.");
        Environment.SetEnvironmentVariable("SLURM_CONF", conf);
    }

    /// <summary>Waits until none of the jobs is in squeue (finished, failed or cancelled).</summary>
    public static void WaitFor(IEnumerable<string> jobs, TimeSpan timeout)
    {
        var ids = string.Join(",", jobs);
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            var (code, output) = Run("squeue", "-h", "-o", "%i", "-j", ids);
            if (code == 0 && output.Trim().Length == 0) return;
            Thread.Sleep(500);
        }
        Assert.Fail($"Slurm jobs {ids} still queued or running after {timeout}");
    }

    /// <summary>The final state of a job from the job completion log (no accounting on the test cluster).</summary>
    public static string StateOf(string job)
    {
        string conf = Environment.GetEnvironmentVariable("SLURM_CONF")!;
        string log = File.ReadAllLines(conf).Select(l => l.Split('=', 2)).Where(p => p.Length == 2 && p[0] == "JobCompLoc").Select(p => p[1]).Single();
        var line = File.ReadAllLines(log).LastOrDefault(l => l.StartsWith($"JobId={job} ", StringComparison.Ordinal));
        return line?.Split(' ').First(f => f.StartsWith("JobState=", StringComparison.Ordinal))["JobState=".Length..] ?? "UNKNOWN";
    }

    public static (int Code, string Output) Run(string program, params string[] args)
    {
        try
        {
            var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args) start.ArgumentList.Add(a);
            using var p = Process.Start(start)!;
            string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (-1, $"{program}: not found");
        }
    }
}
