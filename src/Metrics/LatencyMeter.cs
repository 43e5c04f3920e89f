using System.Diagnostics;
using Harness.Model;
using TorchSharp;
using Harness.Model.Reporting;
using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>Times forward passes: <c>warmup</c> untimed passes, then <c>runs</c> timed ones of one random batch,
/// in eval mode under no_grad, synchronising CUDA before each clock read. Restores the training flag.</summary>
public static class LatencyMeter
{
    public static LatencyStats Measure(nn.Module<Tensor, Tensor> model, int imageSize = 224, int batchSize = 1,
        int runs = 100, int warmup = 10)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (imageSize < 1)
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "image size must be at least 1");
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        if (runs < 1)
            throw new ArgumentOutOfRangeException(nameof(runs), runs, "runs must be at least 1");
        if (warmup < 0)
            throw new ArgumentOutOfRangeException(nameof(warmup), warmup, "warm-up passes cannot be negative");

        var placement = Placement.Of(model);
        var device = placement.Device;
        bool cuda = placement.IsCuda;
        bool wasTraining = model.training;
        model.eval();
        var times = new double[runs];
        try
        {
            using var noGrad = no_grad();
            using var input = placement.SeededInput([batchSize, 3, imageSize, imageSize], 0);
            for (int i = 0; i < warmup; i++)
            {
                using var scope = NewDisposeScope();
                model.call(input);
            }
            if (cuda)
                torch.cuda.synchronize(device);
            using var bar = ProgressLine.Start($"timing {imageSize}px b{batchSize}", runs, "runs");
            for (int i = 0; i < runs; i++)
            {
                bar.Advance();
                using var scope = NewDisposeScope();
                long start = Stopwatch.GetTimestamp();
                model.call(input);
                if (cuda)
                    torch.cuda.synchronize(device);
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }
        finally
        {
            model.train(wasTraining);
        }

        var (mean, median, p95) = LatencyStats.Summarise(times);
        return new LatencyStats(device.ToString(), get_num_threads(), batchSize, imageSize, warmup, runs, mean,
            median, p95);
    }
}
