using Harness.Experiments;
using Harness.Metrics;
using Harness.Model.Families;
using Harness.Storage.Files;
using Harness.Tests.TestSupport;
using Harness.Tests.Unit.Metrics;
using System.Text.Json;

namespace Harness.Tests.Unit.Storage.Files;

/// <summary>The one set of JSON conventions: what every file and <c>--json</c> document of Harness follows.</summary>
public class HarnessJsonTests : TempDirectoryTest
{
    [Test]
    public void NamesAreCamelCaseEnumsAreNamesAndNonFiniteNumbersRoundTrip()
    {
        var m = MetricsPresentationTests.Sample("pruned × 2", 2_000_000, 0.5) with { TestLoss = double.NaN };
        string json = HarnessJson.Serialize(new[] { m });
        Assert.That(json, Does.Contain("\"nonzeroParameters\": 2000000").And.Contain("\"testLoss\": \"NaN\"").And.Contain("pruned × 2"));
        var back = HarnessJson.Deserialize<List<ModelMetrics>>(json)!;
        Assert.That(back[0].TestLoss, Is.NaN);
        Assert.That(back[0] with { TestLoss = 0 }, Is.EqualTo(m with { TestLoss = 0 }).Using<ModelMetrics>((a, b) => HarnessJson.Serialize(a) == HarnessJson.Serialize(b)));
        Assert.That(HarnessJson.Serialize(ResNetBlockKind.Bottleneck), Is.EqualTo("\"Bottleneck\""));
        Assert.That(HarnessJson.Serialize(new { a = 1 }, indented: false), Is.EqualTo("{\"a\":1}"));
    }

    [Test]
    public void AStudyFileWithAnUnknownMemberIsRefusedNamingIt()
    {
        string path = Path.Combine(Dir, "study.json");
        File.WriteAllText(path, "{\"epochs\": 3, \"baseEpochs\": 2}");
        var ex = Assert.Throws<InvalidDataException>(() => StudyConfig.Load(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("'epochs'"));
        File.WriteAllText(path, "{\"baseEpochs\": 2}");
        Assert.That(StudyConfig.Load(path).BaseEpochs, Is.EqualTo(2));
    }

    [Test]
    public void ANullOrAMissingMemberOfAStrictRecordIsRefused()
    {
        string json = EfficientNetWidths.FromConfig(EfficientNetConfig.B0(10)).ToJson();
        Assert.That(EfficientNetWidths.FromJson(json), Is.EqualTo(EfficientNetWidths.FromConfig(EfficientNetConfig.B0(10))));
        using var doc = JsonDocument.Parse(json);
        var withNull = doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value);
        withNull["blocks"] = null;
        Assert.Throws<JsonException>(() => EfficientNetWidths.FromJson(HarnessJson.Serialize(withNull)));
        withNull.Remove("blocks");
        Assert.Throws<JsonException>(() => EfficientNetWidths.FromJson(HarnessJson.Serialize(withNull)));
    }

    [Test]
    public void ThePrintedStudyConfigurationReadsBackAsTheSameConfiguration()
    {
        var config = new StudyConfig { Arch = "resnet18", BaseEpochs = 4, ChannelRatios = [0.2, 0.5] };
        string path = Path.Combine(Dir, "printed.json");
        File.WriteAllText(path, config.ToJson());
        Assert.That(StudyConfig.Load(path).ToJson(), Is.EqualTo(config.ToJson()));
    }
}
