using Harness.Storage.Checkpoints;

namespace Harness.Cli;

/// <summary>Download progress for the command line: a bar on a terminal, plain lines otherwise (stderr).</summary>
public static class Downloads
{
    public static WeightsResolver Resolver() => new() { Progress = Reporter("weights") };

    public static Action<long, long?> Reporter(string what)
    {
        int lastPercent = -1;
        return (done, total) =>
        {
            if (total is not long t || t == 0) return;
            int percent = (int)(100 * done / t);
            if (percent == lastPercent || (percent % 5 != 0 && percent != 100)) return;
            lastPercent = percent;
            int filled = percent / 5;
            string bar = new string('#', filled) + new string('.', 20 - filled);
            if (Console.IsErrorRedirected) Console.Error.WriteLine($"downloading {what}: {percent}% ({done:N0}/{t:N0} bytes)");
            else Console.Error.Write($"\rdownloading {what} [{bar}] {percent,3}%{(percent == 100 ? "\n" : "")}");
        };
    }
}
