using System.Diagnostics;

namespace Harness.Fuzz;

/// <summary>What one input did to a target.</summary>
public enum FuzzVerdict
{
    /// <summary>The reader returned a value.</summary>
    Value,

    /// <summary>The reader refused the input with one of the documented error types (<see cref="Harness.Cli.UserError"/>:
    /// the CLI prints it as one <c>error:</c> line and exits 2).</summary>
    Refused,

    /// <summary>Anything else: another exception, more than <see cref="FuzzContract.TimeLimit"/>, or more than
    /// <see cref="FuzzContract.MemoryCapBytes"/> of resident memory taken.</summary>
    Finding,
}

public sealed record FuzzOutcome(FuzzVerdict Verdict, string Detail, Exception? Exception, TimeSpan Elapsed, long PeakBytes);

/// <summary>Thrown into SharpFuzz for a finding, so that afl-fuzz records the input as a crash.</summary>
public sealed class FuzzFindingException(string message, Exception? inner) : Exception(message, inner);

/// <summary>
/// The contract every fuzz target is held to (the fuzzing issue): any input ends in a value or in the project's
/// documented error (one line, exit 2) within <see cref="TimeLimit"/> and <see cref="MemoryCapBytes"/> of resident
/// memory taken by the read: the process's high-water mark (reset before each input with Linux's <c>clear_refs</c>)
/// less its resident set before the input, so native allocations (libtorch, SkiaSharp, ONNX Runtime) count as much
/// as managed ones.
/// </summary>
public static class FuzzContract
{
    public static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(1);
    public const long MemoryCapBytes = 1536L << 20;

    private static readonly string Scratch = Path.Combine(
        Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"harness-fuzz-{Environment.ProcessId}");

    /// <summary>Runs <paramref name="target"/> on <paramref name="input"/> and judges the result. The first input of a
    /// process also pays for loading native libraries; <paramref name="timeLimit"/> lets a caller allow for it.</summary>
    public static FuzzOutcome Check(FuzzTarget target, ReadOnlySpan<byte> input, TimeSpan? timeLimit = null)
    {
        Directory.CreateDirectory(Scratch);
        string path = Path.Combine(Scratch, "input" + target.Extension);
        File.WriteAllBytes(path, input.ToArray());
        long before = ResetPeak();
        var clock = Stopwatch.StartNew();
        FuzzOutcome outcome;
        try
        {
            target.Read(path);
            outcome = new FuzzOutcome(FuzzVerdict.Value, "value", null, clock.Elapsed, 0);
        }
        catch (Exception ex) when (Harness.Cli.UserError.IsUserError(ex))
        {
            outcome = new FuzzOutcome(FuzzVerdict.Refused, $"error: {Harness.Cli.CliRunner.OneLine(ex.Message)}", ex, clock.Elapsed, 0);
        }
        catch (Exception ex)
        {
            outcome = new FuzzOutcome(FuzzVerdict.Finding, $"{ex.GetType().FullName}: {Harness.Cli.CliRunner.OneLine(ex.Message)}", ex, clock.Elapsed, 0);
        }
        finally
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        long peak = Math.Max(0, PeakResidentBytes() - before);
        outcome = outcome with { PeakBytes = peak };
        if (outcome.Verdict != FuzzVerdict.Finding && outcome.Elapsed > (timeLimit ?? TimeLimit))
            outcome = outcome with { Verdict = FuzzVerdict.Finding, Detail = $"took {outcome.Elapsed.TotalSeconds:F2} s (limit {(timeLimit ?? TimeLimit).TotalSeconds} s) and ended in: {outcome.Detail}" };
        if (outcome.Verdict != FuzzVerdict.Finding && peak > MemoryCapBytes)
            outcome = outcome with { Verdict = FuzzVerdict.Finding, Detail = $"took {peak >> 20} MiB of resident memory (cap {MemoryCapBytes >> 20} MiB) and ended in: {outcome.Detail}" };
        return outcome;
    }

    /// <summary>The process's peak resident set (VmHWM) in bytes; 0 where /proc is not there.</summary>
    public static long PeakResidentBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        return 0;
    }

    /// <summary>Resets the peak resident set to the current one (writing 5 to clear_refs, Linux 4.0+) and returns it.</summary>
    private static long ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        return PeakResidentBytes();
    }
}
