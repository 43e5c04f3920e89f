using Harness.Model;
using Harness.Model.Networks;
using Harness.Runtime;
using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>Times forward passes the way Harness runs inference: <c>warmup</c> untimed passes, then <c>runs</c> timed
/// ones of one random batch, in eval mode without gradients, in <see cref="MemoryLayout"/>'s format (the network's
/// forward lays the batch out), synchronising CUDA before each clock read. A network whose BatchNorms can be folded
/// (<see cref="BatchNormFolding"/>) is timed folded unless <c>foldBatchNorm</c> is false — what <c>predict</c> and an
/// exported model run; the logits are the same up to float rounding. Restores the training flag.</summary>
public static class LatencyMeter
{
    public static LatencyStats Measure(nn.Module<Tensor, Tensor> model, int imageSize = 224, int batchSize = 1,
        int runs = 100, int warmup = 10, bool foldBatchNorm = true)
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
        IPrunableNetwork? folded = null;
        bool batchNormFolded = false;
        try
        {
            var network = model as IPrunableNetwork;
            bool alreadyFolded = network is not null && BatchNormFolding.IsFolded(network);
            if (foldBatchNorm && network is not null && !alreadyFolded)
                folded = BatchNormFolding.Fold(network);
            batchNormFolded = folded is not null || alreadyFolded;
            var timed = folded?.Module ?? model;
            using var noGrad = no_grad();
            // Laid out as the network runs it (as the batch loader delivers batches), so no pass times a layout copy.
            using var drawn = placement.SeededInput([batchSize, 3, imageSize, imageSize], 0);
            var input = MemoryLayout.Prepare(drawn);
            using var laidOut = ReferenceEquals(input, drawn) ? null : input;
            for (int i = 0; i < warmup; i++)
            {
                using var scope = NewDisposeScope();
                timed.call(input);
            }
            if (cuda)
                torch.cuda.synchronize(device);
            using var bar = ProgressLine.Start($"timing {imageSize}px b{batchSize}", runs, "runs");
            for (int i = 0; i < runs; i++)
            {
                bar.Advance();
                using var scope = NewDisposeScope();
                long start = Stopwatch.GetTimestamp();
                timed.call(input);
                if (cuda)
                    torch.cuda.synchronize(device);
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }
        finally
        {
            folded?.Dispose();
            model.train(wasTraining);
        }

        var (mean, median, p95) = LatencyStats.Summarise(times);
        return new LatencyStats(device.ToString(), get_num_threads(), batchSize, imageSize, warmup, runs, mean,
            median, p95)
        { MemoryFormat = MemoryLayout.EffectiveName(device), BatchNormFolded = batchNormFolded };
    }
}
