namespace Harness.Training;

/// <summary>Progress inside an epoch: a redrawn bar on a terminal, a plain line every tenth of the epoch otherwise.</summary>
internal sealed class ProgressLine(TextWriter output, int steps)
{
    private readonly bool _terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
    private int _lastTenth = -1;

    public void Report(int step, long images, TimeSpan elapsed)
    {
        double rate = images / Math.Max(elapsed.TotalSeconds, 1e-9);
        double left = steps > step ? (steps - step) * elapsed.TotalSeconds / step : 0;
        if (_terminal)
        {
            int filled = steps == 0 ? 20 : 20 * step / steps;
            output.Write($"\r  [{new string('#', filled)}{new string('.', 20 - filled)}] {step}/{steps} batches, {rate:F0} img/s, {left:F0}s left   ");
        }
        else
        {
            int tenth = steps == 0 ? 10 : 10 * step / steps;
            if (tenth == _lastTenth || steps < 10) return;
            _lastTenth = tenth;
            output.WriteLine($"  {step}/{steps} batches, {rate:F0} img/s, {left:F0}s left");
        }
    }

    public void Done()
    {
        if (_terminal) output.WriteLine();
    }
}
