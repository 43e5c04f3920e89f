using System.Diagnostics;

namespace Harness.Cli;

/// <summary>
/// One run at a time per output folder (<c>.harness.lock</c>, train) or per experiment of a study or sweep
/// (<c>locks/&lt;name&gt;.lock</c>, so that Slurm array tasks run different experiments of one folder together). A lock
/// file, created exclusively, holds the owner's process id, host and Slurm job id. A second run refuses with the
/// holder's pid; the lock of a process that no longer runs is taken over: on this host, when no such process
/// exists; on another host, when the holder's Slurm job is no longer in <c>squeue</c>.
/// </summary>
public sealed class OutputLock : IDisposable
{
    public const string FileName = ".harness.lock";
    private readonly string _path;

    private OutputLock(string path) => _path = path;

    /// <summary>The lock of one experiment of a study or sweep in <paramref name="root"/>.</summary>
    public static OutputLock ForExperiment(string root, string experiment, TextWriter log) =>
        Acquire(Path.Combine(root, "locks"), log, experiment + ".lock", $"experiment {experiment} of {root}");

    public static OutputLock Acquire(string folder, TextWriter log) => Acquire(folder, log, FileName, folder);

    private static OutputLock Acquire(string folder, TextWriter log, string fileName, string what)
    {
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, fileName);
        for (int attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
                using var writer = new StreamWriter(stream);
                writer.Write(string.Join('\n', Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Environment.MachineName, Environment.GetEnvironmentVariable("SLURM_JOB_ID") ?? ""));
                return new OutputLock(path);
            }
            catch (IOException) when (File.Exists(path))
            {
                var (holder, host, job) = Read(path);
                if (holder is int pid && (host != Environment.MachineName || pid != Environment.ProcessId) && IsRunning(pid, host, job))
                    throw new IOException($"{what} is in use by another Harness run (process {pid}{(host == Environment.MachineName ? "" : $" on {host}")}" +
                                          $"{(job is null ? "" : $", Slurm job {job}")}, lock {path}); wait for it or choose another --out");
                log.WriteLine($"taking over the stale lock {path} (process {holder?.ToString() ?? "?"} no longer runs)");
                File.Delete(path);
            }
        }
        throw new IOException($"{folder}: could not take the lock {path}");
    }

    private static (int? Pid, string Host, string? Job) Read(string path)
    {
        try
        {
            var lines = File.ReadAllText(path).Split('\n', StringSplitOptions.TrimEntries);
            int? pid = int.TryParse(lines[0], out int p) ? p : null;
            string host = lines.Length > 1 && lines[1].Length > 0 ? lines[1] : Environment.MachineName;
            string? job = lines.Length > 2 && lines[2].Length > 0 ? lines[2] : null;
            return (pid, host, job);
        }
        catch (IOException)
        {
            return (null, Environment.MachineName, null);
        }
    }

    /// <summary>Whether the holder still runs: its process on this host; on another host, its Slurm job (a lock from
    /// another host without a job, or when squeue cannot answer, counts as held).</summary>
    private static bool IsRunning(int pid, string host, string? job)
    {
        if (host != Environment.MachineName)
            return job is null || SlurmJobListed(job) != false;
        return IsRunning(pid);
    }

    private static bool? SlurmJobListed(string job)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("squeue", ["-h", "-o", "%i", "-j", job])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Length > 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        try
        {
            if (File.Exists(_path) && Read(_path) is { Pid: int pid, Host: var host } && pid == Environment.ProcessId && host == Environment.MachineName)
                File.Delete(_path);
        }
        catch (IOException)
        {
            // Left behind: the next run takes it over as stale.
        }
    }
}
