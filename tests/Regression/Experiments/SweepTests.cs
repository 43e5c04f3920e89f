using Harness.Experiments;
using Harness.Model;
using Harness.Model.Families;
using Harness.Tests.TestSupport;
using SkiaSharp;
using Snapshooter.NUnit;
using System.Security.Cryptography;
using static TorchSharp.torch;

namespace Harness.Tests.Regression.Experiments;

/// <summary>
/// A sweep of both methods over two ratios from a given base model (B0, 10 classes, random weights) on a small
/// synthetic CIFAR-10 folder at 32×32, one-shot (no fine-tuning): one point per (method, ratio) plus the base,
/// sparsity and FLOPs that fall with the ratio, the table, report and chart files, an untouched base model file,
/// and a second run that redoes nothing. The structural columns are an approved snapshot.
/// </summary>
public class SweepTests : TempDirectoryTest
{
    [Test]
    public void SweepOfBothMethodsProducesOnePointPerRatioAndTheChart()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 16, 40);
        string basePath = Path.Combine(Dir, "base.pth");
        manual_seed(11);
        using (var model = EfficientNet.Create(EfficientNetConfig.B0(10))) ModelLoader.Save(model, basePath);
        byte[] baseHash = SHA256.HashData(File.ReadAllBytes(basePath));
        var config = new StudyConfig
        {
            Data = data,
            BaseModel = basePath,
            Device = "cpu",
            Output = Path.Combine(Dir, "sweep"),
            ImageSize = 32,
            BatchSize = 20,
            TestSubset = 40,
            LatencyRuns = 2,
            FrozenStages = [],
            FineGrainedEpochs = 0,
            ChannelEpochs = 0,
        };
        var sweep = new SweepRunner(config, [SweepMethod.FineGrained, SweepMethod.Channel], [0.7, 0.3], CPU, TestContext.Out);

        var points = sweep.Run();

        Assert.That(points.Select(p => (p.Method, p.Ratio)), Is.EqualTo(new (SweepMethod?, double)[]
        {
            (null, 0), (SweepMethod.FineGrained, 0.3), (SweepMethod.FineGrained, 0.7), (SweepMethod.Channel, 0.3), (SweepMethod.Channel, 0.7),
        }));
        Assert.That(points.All(p => p.Metrics.TestAccuracy is not null && p.Metrics.Latency is not null));
        var fg = points.Where(p => p.Method == SweepMethod.FineGrained).ToList();
        var ch = points.Where(p => p.Method == SweepMethod.Channel).ToList();
        var b = points[0].Metrics;
        foreach (var p in fg)
        {
            // Conv and Linear weights are pruned at exactly the ratio; BatchNorm γ and biases are not pruned (a fresh
            // model's β and biases are zeros, which count), so the overall fraction of zeros lies near the ratio.
            Assert.That(p.Metrics.Sparsity, Is.InRange(p.Ratio - 0.02, p.Ratio + 0.01), $"fine-grained {p.Ratio}");
            Assert.That(p.Metrics.Parameters, Is.EqualTo(b.Parameters), "unstructured pruning keeps every parameter");
            Assert.That(p.Metrics.SparseSizeBytes, Is.LessThan(b.SparseSizeBytes!.Value));
        }
        Assert.That(fg[1].Metrics.EffectiveMacsThop, Is.LessThan(fg[0].Metrics.EffectiveMacsThop));
        Assert.That(fg[0].Metrics.EffectiveMacsThop, Is.LessThan(b.EffectiveMacsThop));
        Assert.That(ch[1].Metrics.Parameters, Is.LessThan(ch[0].Metrics.Parameters));
        Assert.That(ch[0].Metrics.Parameters, Is.LessThan(b.Parameters));
        Assert.That(ch[1].Metrics.MacsThop, Is.LessThan(ch[0].Metrics.MacsThop));
        Assert.That(SHA256.HashData(File.ReadAllBytes(basePath)), Is.EqualTo(baseHash), "the given base model is never written");

        var csv = File.ReadAllLines(sweep.CsvPath);
        Assert.That(csv, Has.Length.EqualTo(6));
        Assert.That(csv[0], Does.StartWith("method,ratio,parameters"));
        Assert.That(csv[4], Does.StartWith("channel,0.3,"));
        using (var chart = SKBitmap.Decode(sweep.ChartPath))
            Assert.That((chart.Width, chart.Height), Is.EqualTo((1280, 440)), "two panels side by side");
        Assert.That(File.ReadAllText(sweep.ReportPath), Does.Contain("metrics_plots/sweep_accuracy_vs_flops_and_size.png")
            .And.Contain("| fine-grained | 0.7 |"));
        Snapshot.Match(points.Select(p => new
        {
            Method = p.Method?.ToString() ?? "base",
            p.Ratio,
            p.Metrics.Parameters,
            p.Metrics.NonzeroParameters,
            p.Metrics.MacsThop,
        }).ToList());

        var log = new StringWriter();
        new SweepRunner(config, [SweepMethod.FineGrained, SweepMethod.Channel], [0.3, 0.7], CPU, log).Run();
        Assert.That(log.ToString().Split('\n').Count(l => l.Contains("finished earlier")), Is.EqualTo(5));
    }

    [Test]
    public void BadSweepArgumentsAreRejectedWithTheOptionName()
    {
        var config = new StudyConfig { Output = Dir };
        Assert.That(() => new SweepRunner(config, [SweepMethod.Channel], [0.5, 1.0], CPU, TextWriter.Null),
            Throws.ArgumentException.With.Message.Contains("--ratios").And.Message.Contains("(0, 1)"));
        Assert.That(() => new SweepRunner(config, [SweepMethod.Channel], [0.5, 0.5], CPU, TextWriter.Null),
            Throws.ArgumentException.With.Message.Contains("twice"));
        Assert.That(() => new SweepRunner(config, [], [0.5], CPU, TextWriter.Null),
            Throws.ArgumentException.With.Message.Contains("--pruning"));
        Assert.That(() => new SweepRunner(config with { ChannelEpochs = -1 }, [SweepMethod.Channel], [0.5], CPU, TextWriter.Null),
            Throws.ArgumentException.With.Message.Contains("--channel-epochs"));
    }
}
