using System.Diagnostics;
using System.Globalization;

namespace Harness.Runtime;

/// <summary>
/// The one progress line of Harness, for every step that can take more than a couple of seconds (training batches,
/// evaluation, latency runs, exports, sweep points, benchmarks): <c>what [#####.....] done/total unit, rate/s, Ns
/// left</c>, redrawn in place at most ten times a second on <see cref="Terminal"/>. The command line sets
/// <see cref="Terminal"/> to stderr when stderr is a terminal and <c>--json</c> is not given; otherwise (pipes, files,
/// tests, the library used on its own) every line is silent, so progress never mixes with results.
/// </summary>
public sealed class ProgressLine : IDisposable
{
    /// <summary>Where progress is drawn; null: nowhere.</summary>
    public static TextWriter? Terminal { get; set; }

    private readonly TextWriter? _out;
    private readonly string _what, _unit;
    private readonly long _total;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _done;
    private long _lastDraw = long.MinValue;
    private bool _drawn;

    private ProgressLine(TextWriter? output, string what, long total, string unit)
    {
        (_out, _what, _total, _unit) = (output, what, total, unit);
    }

    /// <summary>A progress line of <paramref name="total"/> <paramref name="unit"/> on <see cref="Terminal"/>.</summary>
    public static ProgressLine Start(string what, long total, string unit = "steps") => new(Terminal, what, total, unit);

    public void Advance(long steps = 1)
    {
        _done += steps;
        if (_out is null) return;
        long now = _clock.ElapsedMilliseconds;
        if (_done < _total && now - _lastDraw < 100) return;
        _lastDraw = now;
        _out.Write("\r" + Text(_done, _total, _clock.Elapsed) + "   ");
        _drawn = true;
    }

    /// <summary>The line for <paramref name="done"/> of <paramref name="total"/> after <paramref name="elapsed"/>.</summary>
    public string Text(long done, long total, TimeSpan elapsed)
    {
        var inv = CultureInfo.InvariantCulture;
        int filled = total <= 0 ? 20 : (int)Math.Clamp(20 * done / total, 0, 20);
        double seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        double rate = done / seconds;
        string left = done > 0 && total > done ? string.Format(inv, ", {0:F0}s left", (total - done) * seconds / done) : "";
        return string.Format(inv, "{0} [{1}{2}] {3}/{4} {5}, {6:F1}/s{7}", _what, new string('#', filled), new string('.', 20 - filled),
            done, total, _unit, rate, left);
    }

    public void Dispose()
    {
        if (_out is not null && _drawn) _out.Write("\r" + new string(' ', 100) + "\r");
    }
}
