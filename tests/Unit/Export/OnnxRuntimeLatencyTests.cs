using Harness.Export;
using Harness.Model.Families;
using Harness.Tests.TestSupport;

namespace Harness.Tests.Unit.Export;

public class OnnxRuntimeLatencyTests
{
    private static byte[] TinyOnnx(int seed)
    {
        using var model = EfficientNets.Create(EfficientNetConfig.Scaled(0.25, 0.34, 10), (ulong)seed);
        model.eval();
        return OnnxExporter.ToBytes(model, new OnnxExportOptions
        {
            ClassNames = Enumerable.Range(0, 10).Select(i => $"c{i}").ToList(),
            ImageSize = 32,
            HarnessVersion = "test",
        });
    }

    [Test]
    public void InterleavedTimingGivesOneStatisticPerModelInOrderWithTheRequestedSettings()
    {
        byte[] a = TinyOnnx(1), b = TinyOnnx(2);
        var stats = OnnxRuntimeLatency.MeasureInterleaved([a, b, a], imageSize: 32, batchSize: 2, runs: 3, warmup: 1, threads: 1);
        Assert.That(stats, Has.Count.EqualTo(3));
        foreach (var s in stats)
        {
            Assert.That((s.BatchSize, s.ImageSize, s.Runs, s.Warmup, s.Threads), Is.EqualTo((2, 32, 3, 1, 1)));
            Assert.That(s.MedianMs, Is.GreaterThan(0));
            Assert.That(s.P95Ms, Is.GreaterThanOrEqualTo(s.MedianMs));
        }
    }

    [Test]
    public void NoModelsOrNoRunsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => OnnxRuntimeLatency.MeasureInterleaved([], 32, 1, 1, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxRuntimeLatency.MeasureInterleaved([TinyOnnx(1)], 32, 1, 0, 0, 1));
    }

    [Test]
    public void InTurnTimingSplitsTheRunsOverRoundsOfFreshSessionsAndKeepsEachRoundsMedian()
    {
        byte[] a = TinyOnnx(1), b = TinyOnnx(2);
        var timed = OnnxRuntimeLatency.MeasureInTurn([a, b, a], imageSize: 32, batchSize: 2, runs: 7, warmup: 1, threads: 1, rounds: 3);
        Assert.That(timed, Has.Count.EqualTo(3));
        foreach (var (pooled, rounds) in timed)
        {
            Assert.That((pooled.BatchSize, pooled.ImageSize, pooled.Runs, pooled.Warmup, pooled.Threads), Is.EqualTo((2, 32, 7, 1, 1)));
            Assert.That(rounds, Has.Count.EqualTo(3));
            Assert.That(rounds, Has.All.GreaterThan(0));
            // The pooled median lies among the rounds' medians: every pass is in exactly one round.
            Assert.That(pooled.MedianMs, Is.InRange(rounds.Min(), rounds.Max()));
            Assert.That(pooled.P95Ms, Is.GreaterThanOrEqualTo(pooled.MedianMs));
        }
        // Fewer runs than rounds: one round per run, none empty.
        var few = OnnxRuntimeLatency.MeasureInTurn([a], 32, 1, runs: 2, warmup: 0, threads: 1, rounds: 5, spinning: false);
        Assert.That(few[0].RoundMedians, Has.Count.EqualTo(2));
        Assert.That(few[0].Pooled.Runs, Is.EqualTo(2));
    }

    [Test]
    public void InTurnTimingRefusesNoModelsNoRunsOrNoRounds()
    {
        Assert.Throws<ArgumentException>(() => OnnxRuntimeLatency.MeasureInTurn([], 32, 1, 1, 0, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxRuntimeLatency.MeasureInTurn([TinyOnnx(1)], 32, 1, 0, 0, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxRuntimeLatency.MeasureInTurn([TinyOnnx(1)], 32, 1, 1, 0, 1, 0));
    }
}
