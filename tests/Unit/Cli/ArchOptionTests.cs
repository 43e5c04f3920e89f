using Harness.Cli.Commands;
using Harness.Tests.TestSupport;
using System.Text.Json;

namespace Harness.Tests.Unit.Cli;

/// <summary><c>--arch</c> on the commands that build a network: the variant is built, pruned and summarised with
/// torchvision's numbers; a name that is not a variant is one line naming the option.</summary>
public class ArchOptionTests : Harness.Tests.TestSupport.TempDirectoryTest
{
    [TestCase("resnet18", "resnet", 11_181_642L, 122)]
    [TestCase("resnet50", "resnet", 23_528_522L, 320)]
    [TestCase("mobilenet_v2", "mobilenet_v2", 2_236_682L, 314)]
    public void SummaryOfAVariantHasTorchvisionsParametersAndTensors(string arch, string family, long parameters, int tensors)
    {
        var (code, output, error) = HarnessCli.Run(SummaryCommand.Create(), "summary", "--arch", arch, "--weights", "none", "--json");
        Assert.That(code, Is.Zero, error);
        using var doc = JsonDocument.Parse(output);
        Assert.That(doc.RootElement.GetProperty("architecture").GetString(), Is.EqualTo(family));
        Assert.That(doc.RootElement.GetProperty("parameters").GetInt64(), Is.EqualTo(parameters));
        Assert.That(doc.RootElement.GetProperty("stateDictTensors").GetInt32(), Is.EqualTo(tensors));
    }

    [Test]
    public void AnUnknownArchIsOneLineNamingTheOption()
    {
        var (code, _, error) = HarnessCli.Run(SummaryCommand.Create(), "summary", "--arch", "vgg16", "--weights", "none");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(error, Does.Contain("--arch").And.Contain("vgg16"));
    }

    /// <summary>Torch-Pruning 1.6.1's MetaPruner (GroupMagnitudeImportance p=1, the head ignored, round_to 8) on
    /// torchvision's definitions gives these parameter counts; its pruned state dicts equal Harness's tensor for
    /// tensor when both start from the same torchvision weights (checked with Debian's PyTorch 1.13).</summary>
    [TestCase("resnet18", 0.2, 6_979_050L)]
    [TestCase("resnet18", 0.5, 2_801_450L)]
    [TestCase("mobilenet_v2", 0.2, 1_421_250L)]
    [TestCase("mobilenet_v2", 0.5, 586_106L)]
    public void PruneChannelGivesTorchPruningsWidths(string arch, double ratio, long parameters)
    {
        string path = Path.Combine(Dir, "p.pth");
        var (code, output, error) = HarnessCli.Run(PruneCommand.Create(), "prune", "channel", "--arch", arch, "--weights", "none",
            "--ratio", ratio.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", path, "--json");
        Assert.That(code, Is.Zero, error);
        using var doc = JsonDocument.Parse(output);
        Assert.That(doc.RootElement.GetProperty("parametersAfter").GetInt64(), Is.EqualTo(parameters));
        using var back = Harness.Model.ModelLoader.LoadNetwork(path);
        Assert.That(back.Module.parameters().Sum(p => p.numel()), Is.EqualTo(parameters));
    }
}
