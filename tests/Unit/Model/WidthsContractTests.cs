using Harness.Model;
using Harness.Model.Networks;
using Harness.Tests.TestSupport;

namespace Harness.Tests.Unit.Model;

/// <summary>Every family keeps <see cref="IPrunableNetwork.Rebuild"/>'s contract through
/// <see cref="Harness.Model.Channels.ChannelDeclaration.WidthsWith"/>: an unknown space name and tied spaces given
/// different widths are refused, and a width given to one space of a tied set reaches all of them.</summary>
public class WidthsContractTests
{
    [TestCaseSource(typeof(Registry), nameof(Registry.OnePerFamily))]
    public void AnUnknownSpaceNameIsRefused(string arch)
    {
        using var model = ModelLoader.LoadNetwork("none", arch, 10);
        var ex = Assert.Throws<ArgumentException>(() => model.Rebuild(new Dictionary<string, int> { ["no such space"] = 8 }).Dispose());
        Assert.That(ex!.Message, Does.Contain("'no such space'").And.Contain("not declared"));
    }

    [TestCaseSource(typeof(Registry), nameof(Registry.OnePerFamily))]
    public void TiedSpacesGivenDifferentWidthsAreRefusedAndOneWidthReachesTheWholeTiedSet(string arch)
    {
        var widths = Architectures.Create(arch, 10);
        var declaration = widths.DeclareChannels();
        Assert.That(declaration.Ties, Is.Not.Empty, $"{arch} declares no tie (a residual add ties its spaces)");
        var (a, b) = declaration.Ties[^1];
        var ex = Assert.Throws<ArgumentException>(() => widths.WithSpaceWidths(new Dictionary<string, int> { [a] = 8, [b] = 16 }));
        Assert.That(ex!.Message, Does.Contain("tied"));

        var rebuilt = widths.WithSpaceWidths(new Dictionary<string, int> { [a] = 8 }).DeclareChannels();
        Assert.That(rebuilt[a].Width, Is.EqualTo(8));
        Assert.That(rebuilt[b].Width, Is.EqualTo(8), $"'{b}' is tied to '{a}', so it takes its width");
        Assert.DoesNotThrow(() => rebuilt.WidthsWith(new Dictionary<string, int>()));
    }
}
