using Harness.Cli;
using Harness.Cli.Commands;
using Harness.Experiments;
using Harness.Tests.TestSupport;

namespace Harness.Tests.Unit.Cli;

/// <summary><c>study --preset demo</c>: the README's first command; its data ship with the program.</summary>
public class StudyPresetTests
{
    [Test]
    public void TheDemoRunsTheWholeStudyOnTheSubsetShippedBesideTheProgram()
    {
        var (code, output, error) = HarnessCli.Run(StudyCommand.Create(), "study", "--preset", "demo", "--print-config");
        Assert.That(code, Is.Zero, error);
        var config = System.Text.Json.JsonSerializer.Deserialize<StudyConfig>(output, StudyConfig.JsonOptions)!;
        Assert.That(config.Data, Is.EqualTo(StudyOptions.DemoData));
        Assert.That(config.Experiments().Select(e => e.Kind).ToList(), Is.EqualTo(new[] { ExperimentKind.Base, ExperimentKind.FineGrained, ExperimentKind.FineGrained, ExperimentKind.Channel, ExperimentKind.Channel }));
        Assert.That(config.Weights, Is.EqualTo(Harness.Model.Import.PretrainedOnnx.Available ? "mlnet-resnet18" : "none"));
        config.Validate();
        foreach (var split in new[] { "train", "test" })
        {
            var classes = Directory.GetDirectories(Path.Combine(config.Data, split)).Select(Path.GetFileName).Order().ToList();
            Assert.That(classes, Has.Count.EqualTo(10), split);
            int expected = split == "train" ? 150 : 50;
            foreach (var c in classes)
                Assert.That(Directory.GetFiles(Path.Combine(config.Data, split, c!), "*.png"), Has.Length.EqualTo(expected), $"{split}/{c}");
        }
        long bytes = Directory.GetFiles(config.Data, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.That(bytes, Is.LessThanOrEqualTo(5_000_000), "the committed subset stays within 5 MB");
    }

    [Test]
    public void OptionsBesideThePresetOverrideItAndAConfigFileBesideItIsRefused()
    {
        var (code, output, error) = HarnessCli.Run(StudyCommand.Create(), "study", "--preset", "demo", "--image-size", "96", "--out", "elsewhere", "--print-config");
        Assert.That(code, Is.Zero, error);
        var config = System.Text.Json.JsonSerializer.Deserialize<StudyConfig>(output, StudyConfig.JsonOptions)!;
        Assert.That((config.ImageSize, config.Output, config.BaseEpochs), Is.EqualTo((96, "elsewhere", 3)));
        (code, _, error) = HarnessCli.Run(StudyCommand.Create(), "study", "--preset", "demo", "--config", "study.json", "--print-config");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim(), Does.StartWith("error:").And.Contain("--config and --preset"));
        (code, _, error) = HarnessCli.Run(StudyCommand.Create(), "study", "--preset", "paper", "--print-config");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim(), Does.StartWith("error:").And.Contain("--preset"));
    }
}
