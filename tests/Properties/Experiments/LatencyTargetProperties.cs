using FsCheck;
using FsCheck.Fluent;
using Harness.Experiments.Latency;
using Harness.Metrics;
using Harness.Model.Families;
using Harness.Model.Networks;
using Harness.Pruning.Channels;
using Harness.Tests.TestSupport;

namespace Harness.Tests.Properties.Experiments;

/// <summary>
/// Pruning to a latency target on a latency the test defines (deterministic): whatever the target between the smallest
/// reachable latency and the base's, the search returns widths of the groups' grids whose network — built and timed
/// again by the test's latency — is at most the target; a target under the smallest reachable is refused naming it;
/// the cache returns the table for the same key and the key changes with the runtime, batch, threads, input side and
/// machine; the latency model reproduces each single-group measurement it was built from.
/// </summary>
public class LatencyTargetProperties : TempDirectoryTest
{
    /// <summary>A latency that is not additive over groups: a fixed cost, a time per MAC (convs between two narrowed
    /// groups shrink with the product of their widths), and a step per block of 16 channels of every group (as a
    /// runtime's vector blocks make it).</summary>
    private sealed class DefinedLatency(int imageSize, double blockCost = 0.002, double unalignedCost = 0) : ILatencyProbe
    {
        public LatencySetting Setting { get; } = new(LatencyRuntime.Onnx, 1, imageSize, 1);
        public string Machine => "the test's latency";
        public int Calls { get; private set; }

        public static double Of(IPrunableNetwork n, int imageSize, double blockCost = 0.002, double unalignedCost = 0) =>
            0.05 + 2e-7 * MacCounter.ThopMacs(n.Module, imageSize)
                 + blockCost * DependencyGraph.Build(n).Groups.Sum(g => Math.Ceiling(g.Channels / 16.0))
                 + unalignedCost * DependencyGraph.Build(n).Groups.Count(g => g.Channels % 16 != 0);

        public IReadOnlyList<double> Medians(IReadOnlyList<IPrunableNetwork> networks, int runs)
        {
            Calls++;
            return networks.Select(n => Of(n, Setting.ImageSize, blockCost, unalignedCost)).ToList();
        }
    }

    private static EfficientNet TinyB0() => new(EfficientNetWidths.FromConfig(EfficientNetConfig.Scaled(0.25, 0.34, 10)));

    /// <summary>The network's graph, its groups' width grids and its latency table under <paramref name="probe"/>.</summary>
    private static (DependencyGraph Graph, IReadOnlyList<WidthChoices> Choices, LatencyTable Table) Measured(IPrunableNetwork model, ILatencyProbe probe)
    {
        var graph = DependencyGraph.Build(model);
        var choices = WidthChoices.Of(graph, new ChannelPruningOptions());
        return (graph, choices, LatencyTable.Measure(model, graph, choices, probe, "k", TextWriter.Null));
    }

    /// <summary>Every group at its narrowest width, as a fraction of the full network's defined latency.</summary>
    private static double SmallestFraction(IPrunableNetwork model)
    {
        var graph = DependencyGraph.Build(model);
        var narrowest = WidthChoices.Of(graph, new ChannelPruningOptions()).ToDictionary(c => c.Group, c => c.Narrowest);
        using var narrow = model.Rebuild(WidthChoices.SpaceWidths(graph, narrowest));
        return DefinedLatency.Of(narrow, 32) / DefinedLatency.Of(model, 32);
    }

    [Test]
    public void EveryReachableTargetIsMetByTheNetworkBuilt()
    {
        using var model = TinyB0();
        var probe = new DefinedLatency(32);
        var cache = new LatencyCache(Path.Combine(Dir, "cache"));
        var options = new ChannelPruningOptions();
        var graph = DependencyGraph.Build(model);
        var choices = WidthChoices.Of(graph, options);
        double baseMs = DefinedLatency.Of(model, 32);
        double smallest = SmallestFraction(model);
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), Gen.Elements(true, false).ToArbitrary(), (permille, inMs) =>
        {
            double t = smallest + (1 - smallest) * permille / 1000.0;
            var target = inMs ? new LatencyTarget(t * baseMs, true) : new LatencyTarget(t, false);
            var result = LatencyTargetSearch.Search(model, options, target, probe, cache, TextWriter.Null);
            var (pruned, _) = ChannelPruner.PruneToWidths(model, options, result.Widths);
            using (pruned)
            {
                double again = DefinedLatency.Of(pruned, 32) / baseMs;
                bool onGrid = choices.All(c => c.Widths.Contains(result.Widths[c.Group]));
                bool met = again <= t + 1e-9 && Math.Abs(again - result.MeasuredFraction) < 1e-9;
                if (!(onGrid && met)) TestContext.Out.WriteLine($"target {t} ({(inMs ? "ms" : "fraction")}): measured {result.MeasuredFraction}, built {again}, on grid {onGrid}");
                return onGrid && met;
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(6));
    }

    [Test]
    public void AnUnreachableTargetNamesTheSmallestReachableLatency()
    {
        using var model = TinyB0();
        var probe = new DefinedLatency(32);
        double smallest = SmallestFraction(model);
        var ex = Assert.Throws<ArgumentException>(() => LatencyTargetSearch.Search(model, new ChannelPruningOptions(),
            new LatencyTarget(smallest * 0.9, false), probe, new LatencyCache(Path.Combine(Dir, "cache")), TextWriter.Null, "--target-latency"));
        Assert.That(ex!.Message, Does.StartWith("--target-latency").And.Contain("unreachable").And.Contain($"({smallest:F3} of the base's"));
        Assert.That(ex.Message, Does.Not.Contain("\n"));
        Assert.That(Directory.Exists(Path.Combine(Dir, "cache")), Is.False, "nothing is measured or cached for an unreachable target");
    }

    [Test]
    public void ASecondSearchReadsTheTableFromTheCache()
    {
        using var model = TinyB0();
        var cache = new LatencyCache(Path.Combine(Dir, "cache"));
        var first = new DefinedLatency(32);
        var a = LatencyTargetSearch.Search(model, new ChannelPruningOptions(), new LatencyTarget(0.6, false), first, cache, TextWriter.Null);
        var second = new DefinedLatency(32);
        var b = LatencyTargetSearch.Search(model, new ChannelPruningOptions(), new LatencyTarget(0.6, false), second, cache, TextWriter.Null);
        Assert.Multiple(() =>
        {
            Assert.That(a.TableFromCache, Is.False);
            Assert.That(b.TableFromCache, Is.True);
            Assert.That(second.Calls, Is.LessThan(first.Calls), "the table's measurements are not repeated");
            Assert.That(b.Widths, Is.EquivalentTo(a.Widths));
            Assert.That(File.Exists(b.TableFile), Is.True);
        });
        // A different round_to gives other width grids: another key, measured anew.
        var third = new DefinedLatency(32);
        var c = LatencyTargetSearch.Search(model, new ChannelPruningOptions { RoundTo = 4 }, new LatencyTarget(0.6, false), third, cache, TextWriter.Null);
        Assert.That(c.TableFromCache, Is.False);
        // An unreadable file is measured again and replaced.
        File.WriteAllText(a.TableFile, "{ not json");
        var fourth = new DefinedLatency(32);
        Assert.That(LatencyTargetSearch.Search(model, new ChannelPruningOptions(), new LatencyTarget(0.6, false), fourth, cache, TextWriter.Null).TableFromCache, Is.False);
        Assert.That(cache.Load(LatencyCache.KeyOf(LatencyCache.KeyText(model, WidthChoices.Of(DependencyGraph.Build(model), new ChannelPruningOptions()), fourth.Setting, fourth.Machine))), Is.Not.Null);
    }

    [Test]
    public void TheCacheKeyChangesWithWhatTheLatencyDependsOn()
    {
        using var model = TinyB0();
        var choices = WidthChoices.Of(DependencyGraph.Build(model), new ChannelPruningOptions());
        var settings = Gen.Elements(LatencyRuntime.Torch, LatencyRuntime.Onnx, LatencyRuntime.OnnxInt8).SelectMany(r =>
            Gen.Elements(1, 8, 32).SelectMany(b => Gen.Elements(32, 64, 224).SelectMany(s => Gen.Elements(1, 2, 4).Select(t => new LatencySetting(r, b, s, t)))));
        Prop.ForAll(settings.ToArbitrary(), settings.ToArbitrary(), Gen.Elements("machine A", "machine B").ToArbitrary(), (x, y, machine) =>
        {
            string kx = LatencyCache.KeyOf(LatencyCache.KeyText(model, choices, x, machine));
            string ky = LatencyCache.KeyOf(LatencyCache.KeyText(model, choices, y, machine));
            string other = LatencyCache.KeyOf(LatencyCache.KeyText(model, choices, x, machine + " (another CPU)"));
            return (kx == ky) == (x == y) && other != kx;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
        using var wider = new EfficientNet(EfficientNetWidths.FromConfig(EfficientNetConfig.Scaled(0.5, 0.34, 10)));
        var setting = new LatencySetting(LatencyRuntime.Onnx, 1, 32, 2);
        Assert.That(LatencyCache.KeyText(wider, WidthChoices.Of(DependencyGraph.Build(wider), new ChannelPruningOptions()), setting, "m"),
            Is.Not.EqualTo(LatencyCache.KeyText(model, choices, setting, "m")), "another network, another key");
    }

    /// <summary>The test's latency with noise on every network but the first of a call (the base the others are
    /// divided by): each median multiplied by 1 ± <c>amplitude</c>, the sign drawn from <c>seed</c>. The table's
    /// second timing of the base then measures the noise at exactly the amplitude.</summary>
    private sealed class NoisyLatency(int imageSize, double amplitude, int seed) : ILatencyProbe
    {
        private readonly Random _signs = new(seed);
        public LatencySetting Setting { get; } = new(LatencyRuntime.Onnx, 1, imageSize, 1);
        public string Machine => "the test's latency";

        public IReadOnlyList<double> Medians(IReadOnlyList<IPrunableNetwork> networks, int runs) =>
            networks.Select((n, i) => DefinedLatency.Of(n, Setting.ImageSize) * (i == 0 ? 1 : 1 + (_signs.Next(2) == 0 ? -amplitude : amplitude))).ToList();
    }

    /// <summary>Savings measured with noise no larger than the noise the table measures are never credited beyond
    /// the true saving plus that noise and the small MAC-proportional floor: the monotone fit of true savings plus
    /// such noise lies under the true savings plus the noise (isotonic regression is monotone in its data), and the
    /// fitted value's own noise is taken off.</summary>
    [Test]
    public void NoiseWithinTheMeasuredNoiseIsNeverCreditedAsASaving()
    {
        using var model = TinyB0();
        var graph = DependencyGraph.Build(model);
        var choices = WidthChoices.Of(graph, new ChannelPruningOptions());
        double baseMs = DefinedLatency.Of(model, 32);
        var truth = new Dictionary<(int, int), double>();
        Prop.ForAll(Gen.Choose(1, 100).ToArbitrary(), Gen.Choose(0, 10_000).ToArbitrary(), (percent, seed) =>
        {
            double amplitude = percent / 1000.0;
            var table = LatencyTable.Measure(model, graph, choices, new NoisyLatency(32, amplitude, seed), "k", TextWriter.Null);
            bool noiseMeasured = Math.Abs(table.Noise - amplitude) < 1e-12;
            bool ok = noiseMeasured;
            foreach (var sample in table.Samples)
            {
                if (!truth.TryGetValue((sample.Group, sample.Width), out double saved))
                {
                    using var n = model.Rebuild(WidthChoices.SpaceWidths(graph, new Dictionary<int, int> { [sample.Group] = sample.Width }));
                    truth[(sample.Group, sample.Width)] = saved = baseMs - DefinedLatency.Of(n, 32);
                }
                double credited = table.Saved(sample.Group, sample.Channels, sample.Width);
                if (credited > saved + (table.Noise + LatencyTable.PriorShare) * table.BaseMs + 1e-12)
                {
                    TestContext.Out.WriteLine($"noise {amplitude}, seed {seed}: group {sample.Group} at {sample.Width} credited {credited}, saves {saved}");
                    ok = false;
                }
            }
            return ok;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(8));
    }

    [Test]
    public void TheMonotoneFitIsTheLeastSquaresNonDecreasingSequence()
    {
        Prop.ForAll(Gen.Choose(-50, 50).Select(v => v / 10.0).ArrayOf().Where(a => a.Length is > 0 and <= 7).ToArbitrary(), values =>
        {
            var fit = LatencyTable.Isotonic(values);
            bool monotone = fit.Zip(fit.Skip(1)).All(p => p.First <= p.Second + 1e-12);
            bool sameSum = Math.Abs(fit.Sum() - values.Sum()) < 1e-9;
            double Sse(IEnumerable<double> f) => f.Zip(values).Sum(p => (p.First - p.Second) * (p.First - p.Second));
            // Against every non-decreasing sequence on a grid of levels (the data's own values and their means).
            var levels = values.Concat(fit).Distinct().Order().ToArray();
            bool least = AllMonotone(values.Length, levels).All(f => Sse(fit) <= Sse(f) + 1e-9);
            bool unchangedIfMonotone = !values.Zip(values.Skip(1)).All(p => p.First <= p.Second) || fit.SequenceEqual(values);
            return monotone && sameSum && least && unchangedIfMonotone;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
    }

    private static IEnumerable<double[]> AllMonotone(int length, double[] levels, int from = 0)
    {
        if (length == 0)
        {
            yield return [];
            yield break;
        }
        for (int i = from; i < levels.Length; i++)
            foreach (var rest in AllMonotone(length - 1, levels, i))
                yield return [levels[i], .. rest];
    }

    /// <summary>A latency model that credits every group with ten times what it saves (as noise did at batch 32):
    /// the chain of allocations then reaches far below a budget of 0, and the search follows it there, to a network
    /// measured within the band under the target, instead of stopping at a floor and keeping the narrowest network.</summary>
    [TestCase(0.5)]
    [TestCase(0.7)]
    public void ASearchOnAModelThatOverCreditsSavingsStillLandsAtTheTarget(double target)
    {
        using var model = TinyB0();
        var options = new ChannelPruningOptions();
        var graph = DependencyGraph.Build(model);
        var choices = WidthChoices.Of(graph, options);
        var probe = new DefinedLatency(32);
        var cache = new LatencyCache(Path.Combine(Dir, "cache"));
        string key = LatencyCache.KeyOf(LatencyCache.KeyText(model, choices, probe.Setting, probe.Machine));
        var honest = LatencyTable.Measure(model, graph, choices, probe, key, TextWriter.Null);
        var exaggerated = honest with
        {
            Samples = honest.Samples.Select(s => s with { Ms = honest.BaseMs - 10 * (honest.BaseMs - s.Ms), RatioToBase = 1 - 10 * (1 - s.RatioToBase) })
                .Where(s => s.Ms > 0).ToList(),
        };
        cache.Save(exaggerated);
        var result = LatencyTargetSearch.Search(model, options, new LatencyTarget(target, false), probe, cache, TextWriter.Null);
        Assert.Multiple(() =>
        {
            Assert.That(result.TableFromCache, Is.True);
            Assert.That(result.Attempts.Skip(2).Min(a => a.Budget), Is.GreaterThan(-100), "budgets stay on the chain");
            Assert.That(result.MeasuredFraction, Is.LessThanOrEqualTo(target));
            Assert.That(result.MeasuredFraction, Is.GreaterThanOrEqualTo(target * (1 - LatencyTargetSearch.Band)), string.Join("; ", result.Attempts));
        });
    }

    /// <summary>Whatever the noise, every measured group saves a little in the model (at least its MAC-proportional
    /// floor), so the chain of allocations runs on to every measured group's narrowest width: a target between the
    /// chain's credited groups and the floor is reached by narrowing the groups inside the noise, not by jumping to
    /// the every-group-narrowest network.</summary>
    [Test]
    public void TheChainOfAllocationsRunsToEveryMeasuredGroupsNarrowestWidth()
    {
        using var model = TinyB0();
        var graph = DependencyGraph.Build(model);
        var choices = WidthChoices.Of(graph, new ChannelPruningOptions());
        Prop.ForAll(Gen.Choose(0, 300).ToArbitrary(), Gen.Choose(0, 10_000).ToArbitrary(), (permille, seed) =>
        {
            var table = LatencyTable.Measure(model, graph, choices, new NoisyLatency(32, permille / 1000.0, seed), "k", TextWriter.Null);
            var channels = choices.ToDictionary(c => c.Group, c => c.Channels);
            var costs = choices.ToDictionary(c => c.Group, c => c.Widths.Select(w => (double)(c.Channels - w)).ToArray());
            double most = LatencyAllocator.MostSaving(choices, costs, (w, g, from, to) => table.Gain(w, channels, g, from, to));
            var end = LatencyAllocator.Allocate(choices, costs, (w, g, from, to) => table.Gain(w, channels, g, from, to), most * (1 - 1e-12));
            var measured = table.Samples.Select(s => s.Group).Distinct().ToList();
            bool ok = end is not null && measured.All(g => end[g] == choices.Single(c => c.Group == g).Narrowest);
            if (!ok) TestContext.Out.WriteLine($"noise {permille / 1000.0}, seed {seed}: chain ends at {(end is null ? "null" : string.Join(",", measured.Select(g => $"{g}:{end[g]}")))}");
            return ok;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(6));
    }

    [Test]
    public void TheModelReproducesEachMeasurementItWasBuiltFrom()
    {
        using var model = TinyB0();
        var probe = new DefinedLatency(32);
        var (graph, choices, table) = Measured(model, probe);
        Assert.That(table.Samples, Is.Not.Empty);
        foreach (var s in table.Samples)
        {
            var c = choices.Single(c => c.Group == s.Group);
            double predicted = table.Predict(choices, new Dictionary<int, int> { [s.Group] = s.Width });
            // Without noise (the test's latency is monotone in every width) the fit is the measurements themselves.
            double slowest = table.Samples.Where(o => o.Group == s.Group && o.Width >= s.Width).Min(o => o.Ms);
            Assert.That(predicted, Is.EqualTo(slowest).Within(1e-9), $"group {s.Group} at {s.Width} of {c.Channels}");
        }
    }

    [Test]
    public void ARuntimeThatRunsUnalignedWidthsSlowerGetsAlignedWidths()
    {
        // Every group whose width is not a multiple of 16 costs a fixed extra time (as a convolution falls off a
        // runtime's blocked layout): the probes find it, and the allocation then keeps to multiples of 16.
        using var model = TinyB0();
        var graph = DependencyGraph.Build(model);
        var options = new ChannelPruningOptions();
        var choices = WidthChoices.Of(graph, options);
        var slow = new DefinedLatency(32, unalignedCost: 0.03);
        var table = LatencyTable.Measure(model, graph, choices, slow, "k", TextWriter.Null);
        Assert.That(LatencyTable.AlignmentOf(table.AlignmentProbes, 16), Is.EqualTo(16));
        Assert.That(table.WithAlignment(16).Samples.All(s => s.Width % 16 == 0), Is.True);
        var result = LatencyTargetSearch.Search(model, options, new LatencyTarget(0.7, false), slow, new LatencyCache(Path.Combine(Dir, "a")), TextWriter.Null);
        Assert.That(result.Alignment, Is.EqualTo(16));
        Assert.That(choices.Where(c => result.Widths[c.Group] != c.Channels).Select(c => result.Widths[c.Group] % 16), Is.All.EqualTo(0).Or.Empty);
        Assert.That(result.MeasuredFraction, Is.LessThanOrEqualTo(0.7));
        // Without the extra cost the probes find no alignment.
        Assert.That(LatencyTable.AlignmentOf(LatencyTable.Measure(model, graph, choices, new DefinedLatency(32), "k", TextWriter.Null).AlignmentProbes, 16), Is.EqualTo(1));
        Assert.That(LatencyTargetSearch.Search(model, options, new LatencyTarget(0.7, false), new DefinedLatency(32), new LatencyCache(Path.Combine(Dir, "b")), TextWriter.Null).Alignment, Is.EqualTo(1));
    }

    [Test]
    public void ASensitivityScanSparesTheGroupItFoundSensitive()
    {
        // A scan (sensitivity.csv's columns) in which every measured group loses a little accuracy per channel removed,
        // and the group that saves the most time loses a lot: the allocation narrows the others first.
        using var model = TinyB0();
        var probe = new DefinedLatency(32);
        var (graph, choices, table) = Measured(model, probe);
        int costly = table.Samples.GroupBy(s => s.Group).MaxBy(g => table.BaseMs - g.Min(s => s.Ms))!.Key;
        var lines = new List<string> { "group,members,ratio,removed,macs_share,accuracy,loss,drop" };
        foreach (var c in choices.Where(c => c.Widths.Count > 1))
            foreach (double r in new[] { 0.25, 0.5 })
            {
                int removed = c.Channels - c.Widths.OrderBy(w => Math.Abs(w - (1 - r) * c.Channels)).First();
                double drop = (c.Group == costly ? 0.2 : 0.001) * removed / c.Channels;
                lines.Add($"{c.Group},\"a, b\",{r},{removed},0.1,0.5,1.0,{drop.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            }
        string scan = Path.Combine(Dir, "sensitivity.csv");
        File.WriteAllLines(scan, lines);
        var costOf = SensitivityCosts.Read(scan, graph, "--sensitivity");
        var result = LatencyTargetSearch.Search(model, new ChannelPruningOptions(), new LatencyTarget(0.85, false), probe,
            new LatencyCache(Path.Combine(Dir, "cache")), TextWriter.Null, costOf: costOf);
        Assert.That(result.MeasuredFraction, Is.LessThanOrEqualTo(0.85));
        Assert.That(result.Widths[costly], Is.EqualTo(choices.Single(c => c.Group == costly).Channels), "the sensitive group keeps its channels");
        Assert.That(result.ImportanceRemoved, Is.LessThan(0.2), "the cost is the scan's accuracy drops");
        var ex = Assert.Throws<InvalidDataException>(() => SensitivityCosts.Read(WriteLines("layer,members,ratio,removed,macs_share,accuracy,loss,drop"), graph, "--sensitivity"));
        Assert.That(ex!.Message, Does.Contain("fine-grained"));
        ex = Assert.Throws<InvalidDataException>(() => SensitivityCosts.Read(WriteLines(lines[0], "999,x,0.5,4,0.1,0.5,1,0.1"), graph, "--sensitivity"));
        Assert.That(ex!.Message, Does.Contain("group 999"));
    }

    /// <summary>The default cost is a group's mean-normalised L1 weighted by the MACs one of its channels carries (what
    /// the network loses with that group alone at its narrowest, per channel) against the groups' mean: a channel of a
    /// residual trunk, running through many layers, costs more than one of a block's inner width.</summary>
    [Test]
    public void TheDefaultCostWeighsEachGroupsChannelsByTheMacsTheyCarry()
    {
        using var model = TinyB0();
        var graph = DependencyGraph.Build(model);
        var options = new ChannelPruningOptions();
        var choices = WidthChoices.Of(graph, options);
        var scores = ChannelPruner.GroupScores(model, graph, options);
        var plain = LatencyAllocator.Costs(graph, scores, choices);
        foreach (var t in scores.Values) t.Dispose();
        var weighted = LatencyAllocator.ImportanceCosts(model, graph, options, choices, 32);
        long full = MacCounter.ThopMacs(model.Module, 32);
        var perChannel = new Dictionary<int, double>();
        foreach (var c in choices.Where(c => c.Channels > c.Narrowest))
        {
            var widths = choices.ToDictionary(x => x.Group, x => x.Channels);
            widths[c.Group] = c.Narrowest;
            using var narrowed = model.Rebuild(WidthChoices.SpaceWidths(graph, widths));
            perChannel[c.Group] = (full - MacCounter.ThopMacs(narrowed.Module, 32)) / (double)(c.Channels - c.Narrowest);
        }
        double mean = perChannel.Values.Average();
        foreach (var (group, macs) in perChannel)
            for (int j = 0; j < plain[group].Length; j++)
                Assert.That(weighted[group][j], Is.EqualTo(plain[group][j] * macs / mean).Within(1e-9 * (1 + plain[group][j])), $"group {group}, width {j}");
        int trunk = perChannel.Keys.MaxBy(g => graph.Groups.Single(x => x.Id == g).Members.Count);
        int inner = perChannel.Keys.MinBy(g => graph.Groups.Single(x => x.Id == g).Members.Count);
        Assert.That(perChannel[trunk], Is.GreaterThan(perChannel[inner]), "a trunk's channel carries more MACs than an inner one's");
    }

    private string WriteLines(params string[] lines)
    {
        string path = Path.Combine(Dir, $"scan-{Guid.NewGuid():N}.csv");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Test]
    public void WithTimeProportionalToMacsTheModelPredictsGroupsNarrowedTogether()
    {
        // Time ∝ MACs: a conv between two narrowed groups shrinks with the product of their widths, which the sum of
        // the single-group savings misses and the interaction term restores.
        using var model = TinyB0();
        var probe = new DefinedLatency(32, blockCost: 0);
        var (graph, choices, table) = Measured(model, probe);
        var measured = choices.Where(c => table.Samples.Any(s => s.Group == c.Group)).ToList();
        Prop.ForAll(Gen.Choose(0, 1000).ToArbitrary(), seed =>
        {
            var rng = new Random(seed);
            var widths = measured.Where(_ => rng.NextDouble() < 0.6).ToDictionary(c => c.Group, c => c.Widths[rng.Next(c.Widths.Count)]);
            using var n = model.Rebuild(WidthChoices.SpaceWidths(graph, widths));
            double truth = DefinedLatency.Of(n, 32, 0);
            double predicted = table.Predict(choices, widths);
            double additive = table.BaseMs - widths.Sum(p => table.Saved(p.Key, choices.Single(c => c.Group == p.Key).Channels, p.Value));
            bool close = Math.Abs(predicted - truth) <= 0.03 * table.BaseMs && Math.Abs(predicted - truth) <= Math.Abs(additive - truth) + 1e-12;
            if (!close) TestContext.Out.WriteLine($"widths {string.Join(",", widths)}: truth {truth}, predicted {predicted}, additive {additive}, base {table.BaseMs}");
            return close;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(10));
    }
}
