using System.Diagnostics;

namespace Harness.Cli;

/// <summary>
/// One run at a time per output folder: <c>.harness.lock</c> holds the owner's process id, created exclusively. A
/// second run refuses with the holder's pid; the lock of a process that no longer runs is taken over.
/// </summary>
public sealed class OutputLock : IDisposable
{
    public const string FileName = ".harness.lock";
    private readonly string _path;

    private OutputLock(string path) => _path = path;

    public static OutputLock Acquire(string folder, TextWriter log)
    {
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, FileName);
        for (int attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
                using var writer = new StreamWriter(stream);
                writer.Write(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return new OutputLock(path);
            }
            catch (IOException) when (File.Exists(path))
            {
                int? holder = ReadPid(path);
                if (holder is int pid && pid != Environment.ProcessId && IsRunning(pid))
                    throw new IOException($"{folder} is in use by another Harness run (process {pid}, lock {path}); wait for it or choose another --out");
                log.WriteLine($"taking over the stale lock {path} (process {holder?.ToString() ?? "?"} no longer runs)");
                File.Delete(path);
            }
        }
        throw new IOException($"{folder}: could not take the lock {path}");
    }

    private static int? ReadPid(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), out int pid) ? pid : null;
        }
        catch (IOException)
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
            if (File.Exists(_path) && File.ReadAllText(_path).Trim() == Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture))
                File.Delete(_path);
        }
        catch (IOException)
        {
            // Left behind: the next run takes it over as stale.
        }
    }
}
