using Harness.Cli;
using Harness.Cli.Commands;
using Harness.Tests.TestSupport;
using System.CommandLine;
using System.Text.Json;

namespace Harness.Tests.Parity;

/// <summary><c>bench compare</c> end to end against Debian's PyTorch, at the smallest settings: every inference row
/// for every model and both Harness paths, latency set against MACs, and the resident-memory trace.</summary>
[TestFixture, Category("Parity"), NonParallelizable] // changes the working directory
public sealed class BenchCompareTests
{
    private static JsonElement Compare(params string[] args)
    {
        PythonTorch.Require();
        string before = Environment.CurrentDirectory;
        Environment.CurrentDirectory = SharedData.RepoRoot; // where bench/torch_bench.py is
        try
        {
            var output = new StringWriter();
            var error = new StringWriter();
            int code = CliRunner.Run(new RootCommand { BenchCommand.Create() },
                ["bench", "compare", "--python", PythonTorch.Interpreter, "--json", "--threads", "2", .. args], output, error);
            Assert.That(code, Is.EqualTo(0), error.ToString());
            return JsonDocument.Parse(output.ToString()).RootElement.Clone();
        }
        finally
        {
            Environment.CurrentDirectory = before;
        }
    }

    [Test]
    public void InferenceRowsCoverEveryModelAndBothHarnessPathsWithLatencyAgainstMacs()
    {
        var doc = Compare("--arch", "mobilenet_v2", "--only", "infer", "--rounds", "1", "--runs", "1");
        Assert.That(doc.GetProperty("memory_format").GetString(), Is.EqualTo(Harness.Runtime.MemoryLayout.ChannelsLastIsSound ? "channels-last" : "contiguous"),
            Harness.Runtime.MemoryLayout.ChannelsLastFault ?? "auto is channels-last on the CPU");
        var rows = doc.GetProperty("rows").EnumerateArray().ToList();
        // 2 sizes × 2 batch sizes × (folded, unfolded) × (base, channel 0.2, channel 0.8).
        Assert.That(rows, Has.Count.EqualTo(24));
        Assert.That(rows.Select(r => r.GetProperty("model").GetString()).Distinct(), Is.EquivalentTo(new[] { "base", "channel 0.2", "channel 0.8" }));
        Assert.That(rows.Count(r => r.GetProperty("work").GetString()!.EndsWith("BatchNorm unfolded", StringComparison.Ordinal)), Is.EqualTo(12));
        foreach (var r in rows)
        {
            double h = r.GetProperty("harness").GetDouble(), t = r.GetProperty("pytorch").GetDouble();
            Assert.That(h, Is.GreaterThan(0));
            Assert.That(t, Is.GreaterThan(0));
            Assert.That(r.GetProperty("speedup").GetDouble(), Is.EqualTo(t / h).Within(1e-9)); // latency: PyTorch / Harness
        }
        var perMac = doc.GetProperty("latency_vs_macs").EnumerateArray().ToList();
        Assert.That(perMac.Select(m => m.GetProperty("model").GetString()), Is.EqualTo(new[] { "channel 0.2", "channel 0.8" }));
        double macs02 = perMac[0].GetProperty("macs_vs_base").GetDouble(), macs08 = perMac[1].GetProperty("macs_vs_base").GetDouble();
        Assert.That(macs02, Is.LessThan(1).And.GreaterThan(macs08));
        Assert.That(macs08, Is.GreaterThan(0));
        foreach (var m in perMac)
            Assert.That(m.GetProperty("latency").GetArrayLength(), Is.EqualTo(8));
    }

    [Test]
    public void MemoryTraceSamplesEveryStepOfTheTrainLoop()
    {
        var doc = Compare("--arch", "mobilenet_v2", "--only", "memory", "--memory-steps", "100");
        var memory = doc.GetProperty("memory");
        Assert.That(memory.GetProperty("steps").GetInt32(), Is.EqualTo(100));
        var every50 = memory.GetProperty("rss_mib_every_50").EnumerateArray().Select(e => e.GetDouble()).ToList();
        Assert.That(every50, Has.Count.EqualTo(2));
        Assert.That(memory.GetProperty("rss_mib_at_step_50").GetDouble(), Is.EqualTo(every50[0]));
        Assert.That(memory.GetProperty("rss_mib_at_end").GetDouble(), Is.EqualTo(every50[1]));
        Assert.That(every50, Has.All.GreaterThan(10.0));
        Assert.That(memory.GetProperty("growth_after_50").GetDouble(), Is.EqualTo(every50[1] / every50[0] - 1).Within(1e-12));
        Assert.That(memory.GetProperty("rss_mib_at_step_100").GetDouble(), Is.EqualTo(every50[1]));
        Assert.That(memory.GetProperty("growth_after_100").GetDouble(), Is.EqualTo(0));
        Assert.That(doc.GetProperty("rows").GetArrayLength(), Is.EqualTo(0));
    }
}
