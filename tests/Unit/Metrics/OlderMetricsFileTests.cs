using Harness.Metrics;
using Harness.Storage.Files;
using Harness.Tests.TestSupport;
using System.Text.Json.Nodes;

namespace Harness.Tests.Unit.Metrics;

/// <summary>
/// A study reuses its finished experiments by reading their <c>metrics/*.json</c>, so a file written by an older
/// Harness must stay readable when a measurement is added. <c>Fixtures/metrics-2026-11-30.json</c> is
/// <c>harness metrics --arch resnet18 --image-size 32 --runs 2</c> as Harness wrote it before ONNX Runtime latency
/// (commit 85713be, 2026-12-01) and the latency's memory format (f1c0819, 2026-12-03): no <c>onnxLatency</c>, no
/// <c>latency.memoryFormat</c> or <c>batchNormFolded</c>.
/// </summary>
public class OlderMetricsFileTests : TempDirectoryTest
{
    private static string Fixture => Path.Combine(TestContext.CurrentContext.TestDirectory, "Metrics", "Fixtures", "metrics-2026-11-30.json");

    [Test]
    public void AFileWrittenBeforeTheNewerColumnsReadsWithThemAbsent()
    {
        var m = MetricsFiles.ReadJson(Fixture).Single();
        Assert.That(m.Name, Is.EqualTo("resnet18_none"));
        Assert.That(m.Parameters, Is.EqualTo(11_181_642L));
        Assert.That(m.OnnxLatency, Is.Null);
        Assert.That(m.Latency!.MemoryFormat, Is.EqualTo("contiguous"), "the format every run had before channels-last");
        var csv = MetricsFiles.ToCsv([m]);
        Assert.That(csv.Split('\n')[1], Does.StartWith("resnet18_none,11181642,"));
    }

    [Test]
    public void EveryOptionalMemberMayBeMissingAndEveryRequiredOneIsNamedWhenMissing()
    {
        var optional = new[] { "sparseSizeBytes", "latency", "memory", "testLoss", "testAccuracy", "onnxLatency" };
        var required = new[] { "name", "parameters", "nonzeroParameters", "sizeBytes", "imageSize", "macsThop", "macsTorchProfile",
            "effectiveMacsThop", "effectiveMacsTorchProfile" };
        foreach (var member in optional.Concat(required))
        {
            var doc = JsonNode.Parse(File.ReadAllText(Fixture))!.AsArray();
            doc[0]!.AsObject().Remove(member);
            string path = Path.Combine(Dir, member + ".json");
            AtomicFile.WriteAllText(path, doc.ToJsonString());
            if (optional.Contains(member))
                Assert.DoesNotThrow(() => MetricsFiles.ReadJson(path), member);
            else
                Assert.That(() => MetricsFiles.ReadJson(path), Throws.InstanceOf<InvalidDataException>().With.Message.Contain(member), member);
        }
    }
}
