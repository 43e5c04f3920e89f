using Harness.Metrics;
using Harness.Tests.TestSupport;

namespace Harness.Tests.Unit.Metrics;

/// <summary>Tables, files and images of metrics records.</summary>
public class MetricsPresentationTests : TempDirectoryTest
{
    internal static ModelMetrics Sample(string name, long nonzero, double? accuracy) => new()
    {
        Name = name,
        Parameters = 4_000_000,
        NonzeroParameters = nonzero,
        SizeBytes = 16_300_000,
        SparseSizeBytes = nonzero < 4_000_000 ? 5_000_000 : null,
        ImageSize = 224,
        MacsThop = 400_000_000,
        MacsTorchProfile = 385_000_000,
        EffectiveMacsThop = 400_000_000 * nonzero / 4_000_000,
        EffectiveMacsTorchProfile = 385_000_000 * nonzero / 4_000_000,
        Latency = new LatencyStats("cpu", 2, 4, 224, 10, 100, 40.0, 38.0, 52.0),
        Memory = new MemoryFigures(16_000_000, 9_600_000, "features.1.0", 30_000_000, "resident memory: test", null, null),
        TestLoss = accuracy is null ? null : 0.31,
        TestAccuracy = accuracy,
    };

    [Test]
    public void MarkdownTableHasOneRowPerModelAndDeterministicModeDropsTimings()
    {
        var models = new[] { Sample("baseline", 4_000_000, 0.97), Sample("pruned 50%", 2_000_000, 0.96) };
        var full = MetricsTable.Build(models);
        var lines = full.ToMarkdown().TrimEnd().Split('\n');
        Assert.That(lines, Has.Length.EqualTo(4));
        Assert.That(lines[3], Does.StartWith("| pruned 50% | 4,000,000 | 2,000,000 | 50.00 | 16.300 | 5.000 | 400.00 |"), "400 million MACs read in MMACs");
        Assert.That(full.Headers, Does.Contain("ms/image"));
        var deterministic = MetricsTable.Build(models, deterministicOnly: true);
        Assert.That(deterministic.Headers, Does.Not.Contain("ms/image").And.Not.Contain("RSS growth MB"));
        Assert.That(deterministic.Headers, Does.Contain("MMACs torchprofile"));
        Assert.That(full.Caption, Is.EqualTo("input 224×224 · MACs: thop rules first · latency: batch 4, 100 runs after 10 warm-up, 2 threads, cpu"));
        Assert.That(deterministic.Caption, Is.EqualTo("input 224×224 · MACs: thop rules first"));
    }

    /// <summary>One model reads as the paper's per-model table: a row per metric, its value beside it; several models
    /// as a column each. The image of one model is taller than wide, whatever the caption's length.</summary>
    [Test]
    public void ByMetricTurnsColumnsIntoRows()
    {
        var one = MetricsTable.Build([Sample("baseline", 4_000_000, 0.97)]);
        var rows = one.ByMetric();
        Assert.That(rows.Headers, Is.EqualTo(new[] { "Metric", "Value" }));
        Assert.That(rows.Rows.Select(r => r[0]), Is.EqualTo(one.Headers.Skip(1)));
        Assert.That(rows.Rows.Select(r => r[1]), Is.EqualTo(one.Rows[0].Skip(1)));
        Assert.That(rows.Caption, Is.EqualTo(one.Caption));
        var two = MetricsTable.Build([Sample("baseline", 4_000_000, 0.97), Sample("pruned", 2_000_000, 0.9)]).ByMetric();
        Assert.That(two.Headers, Is.EqualTo(new[] { "Metric", "baseline", "pruned" }));
        Assert.That(two.Rows.First(r => r[0] == "Nonzero").Skip(1), Is.EqualTo(new[] { "4,000,000", "2,000,000" }));
        string path = Path.Combine(Dir, "one_metrics_table.png");
        MetricsPlots.SaveTable(rows, path, "baseline");
        using var bitmap = SkiaSharp.SKBitmap.Decode(path);
        Assert.That(bitmap.Height, Is.GreaterThan(bitmap.Width), "metric/value rows, not one wide row");
        Assert.That(bitmap.Width, Is.LessThan(800));
    }

    [Test]
    public void ConventionChoosesWhichMacsComeFirst()
    {
        var table = MetricsTable.Build([Sample("m", 4_000_000, null)], MacConvention.TorchProfile);
        Assert.That(table.Headers[6], Is.EqualTo("MMACs torchprofile"));
        Assert.That(table.Rows[0][6], Is.EqualTo("385.00"));
        Assert.That(table.Rows[0][8], Is.EqualTo("400.00"));
    }

    [TestCase(4.2e9, "G")]
    [TestCase(1e9, "G")]
    [TestCase(4.1e8, "M")]
    [TestCase(1.2e6, "M")]
    [TestCase(3e5, "K")]
    public void CountsAreShownInTheUnitThatPutsTheLargestAtOrAboveOne(double largest, string prefix) =>
        Assert.That(MetricsTable.UnitFor(largest).Prefix, Is.EqualTo(prefix));

    [Test]
    public void ALossSpikeOfSeventyFiveSwitchesTheLossPanelToALogScale()
    {
        Assert.That(MetricsPlots.LossNeedsLogScale([74.8, 2.1, 1.2, 0.9, 0.8]), Is.True);
        Assert.That(MetricsPlots.LossNeedsLogScale([2.3, 1.9, 1.6, 1.5]), Is.False);
        Assert.That(MetricsPlots.LossNeedsLogScale([double.NaN, 1.0]), Is.False);
    }

    [Test]
    public void JsonRoundTripsAndCsvHasOneLinePerModel()
    {
        var models = new List<ModelMetrics> { Sample("a", 4_000_000, 0.9), Sample("b, pruned", 1_000_000, null) };
        string json = Path.Combine(Dir, "m.json"), csv = Path.Combine(Dir, "m.csv");
        MetricsFiles.WriteJson(json, models);
        MetricsFiles.WriteCsv(csv, models);
        var back = MetricsFiles.ReadJson(json);
        Assert.That(back[1] with { Latency = null, Memory = null },
            Is.EqualTo(models[1] with { Latency = null, Memory = null }));
        Assert.That(back[0].Latency, Is.EqualTo(models[0].Latency));
        Assert.That(File.ReadAllText(json), Does.Contain("\"macsThop\": 400000000").And.Contain("\"sizeMB\": 16.3"));
        var lines = File.ReadAllLines(csv);
        Assert.That(lines, Has.Length.EqualTo(3));
        Assert.That(lines[2], Does.StartWith("\"b, pruned\",4000000,1000000,0.75,"));
        Assert.That(Directory.GetFiles(Dir), Has.Length.EqualTo(2), "no temporary files left behind");
    }

    [Test]
    public void ReadingAMissingOrBrokenMetricsFileNamesIt()
    {
        string path = Path.Combine(Dir, "broken.json");
        Assert.That(() => MetricsFiles.ReadJson(path), Throws.InstanceOf<FileNotFoundException>()
            .With.Message.Contains(path));
        File.WriteAllText(path, "{ not json");
        Assert.That(() => MetricsFiles.ReadJson(path), Throws.InstanceOf<InvalidDataException>()
            .With.Message.Contains(path));
    }

    [Test]
    public void ImagesArePngFilesOfTheExpectedLayout()
    {
        var models = new[] { Sample("baseline", 4_000_000, 0.97), Sample("pruned 50%", 2_000_000, 0.955),
            Sample("channels 30%", 2_800_000, 0.95) };
        var table = MetricsPlots.TablePath(Dir, "unit");
        MetricsPlots.SaveTable(MetricsTable.Build(models), table, "unit test");
        var curves = MetricsPlots.CurvesPath(Dir, "unit");
        MetricsPlots.SaveTrainingCurves(new TrainingCurves([1, 2, 3, 4], [1.2, 0.6, 0.4, 0.3], [74.8, 0.6, 0.5, 0.45],
            [0.6, 0.8, 0.88, 0.92], [0.7, 0.81, 0.85, 0.86])
        { Initial = (2.4, 0.31), BaseAccuracy = 0.9, ChanceAccuracy = 0.1 }, curves);
        var comparison = MetricsPlots.ComparisonPath(Dir, "unit");
        MetricsPlots.SaveComparison(models, comparison);
        foreach (var path in new[] { table, curves, comparison })
        {
            var bytes = File.ReadAllBytes(path);
            Assert.That(bytes.Take(4), Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }), path);
            using var bitmap = SkiaSharp.SKBitmap.Decode(bytes);
            Assert.That(bitmap.Width, Is.GreaterThan(bitmap.Height), path);
        }
        string? keep = Environment.GetEnvironmentVariable("HARNESS_KEEP_PLOTS");
        if (!string.IsNullOrEmpty(keep))
            foreach (var path in new[] { table, curves, comparison })
                File.Copy(path, Path.Combine(keep, Path.GetFileName(path)), overwrite: true);
    }

    /// <summary>With int8 figures, the tables gain their three columns (left out where no model has them) and both
    /// charts draw them: the comparison and the sweep write images that differ from the ones without int8.</summary>
    [Test]
    public void Int8FiguresJoinTheTablesAndBothChartsOnlyWhereMeasured()
    {
        static ModelMetrics WithInt8(ModelMetrics m, double accuracy) => m with
        {
            Int8 = new Int8Metrics(m.SizeBytes / 4, new LatencyStats("cpu (onnxruntime)", 2, 1, 224, 10, 100, 4, 3.9, 5), 0.4, accuracy, "minmax"),
        };
        var plain = new[] { Sample("baseline", 4_000_000, 0.97), Sample("pruned 50%", 2_000_000, 0.955) };
        var quantized = new[] { WithInt8(plain[0], 0.965), WithInt8(plain[1], 0.95) };
        Assert.That(MetricsTable.Build(plain).Headers, Has.None.Contains("Int8"));
        Assert.That(MetricsTable.Build(quantized).Headers, Has.Member("Int8 MB").And.Member("ORT int8 ms mean/med/p95").And.Member("Int8 acc %"));
        Assert.That(MetricsTable.Build(quantized).Rows[0], Has.Member("96.50").And.Member("4.075"));
        Assert.That(MetricsTable.Build([quantized[0], plain[1]]).Rows[1][^1], Is.EqualTo("-"));
        string a = Path.Combine(Dir, "plain.png"), b = Path.Combine(Dir, "int8.png");
        MetricsPlots.SaveComparison(plain, a);
        MetricsPlots.SaveComparison(quantized, b);
        Assert.That(File.ReadAllBytes(b), Is.Not.EqualTo(File.ReadAllBytes(a)));
        string c = Path.Combine(Dir, "sweep-plain.png"), d = Path.Combine(Dir, "sweep-int8.png");
        MetricsPlots.SaveSweep([("channel", [(0.0, plain[0]), (0.5, plain[1])])], c);
        MetricsPlots.SaveSweep([("channel", [(0.0, quantized[0]), (0.5, quantized[1])])], d);
        Assert.That(File.ReadAllBytes(d), Is.Not.EqualTo(File.ReadAllBytes(c)));
    }

    [Test]
    public void CurvesWithMismatchedSeriesAndComparisonsWithoutAccuracyAreRefused()
    {
        var bad = new TrainingCurves([1, 2], [1.0], [1.0, 0.9], [0.5, 0.6], [0.5, 0.6]);
        Assert.That(() => MetricsPlots.SaveTrainingCurves(bad, Path.Combine(Dir, "x.png")),
            Throws.ArgumentException.With.Message.Contains("train loss 1"));
        Assert.That(() => MetricsPlots.SaveComparison([Sample("a", 1, null)], Path.Combine(Dir, "y.png")),
            Throws.ArgumentException.With.Message.Contains("test accuracy"));
        Assert.That(Directory.GetFiles(Dir), Is.Empty);
    }

    [Test]
    public void LatencySummaryUsesNearestRankPercentileAndMidpointMedian()
    {
        var (mean, median, p95) = LatencyStats.Summarise([5, 1, 3, 2, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
        Assert.That(mean, Is.EqualTo(10.5));
        Assert.That(median, Is.EqualTo(10.5));
        Assert.That(p95, Is.EqualTo(19));
    }
}
