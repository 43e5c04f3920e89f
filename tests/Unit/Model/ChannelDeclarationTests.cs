using Harness.Model.Channels;

namespace Harness.Tests.Unit.Model;

public class ChannelDeclarationTests
{
    private static ChannelDeclaration Chain()
    {
        var d = new ChannelDeclaration();
        d.Space("a", SpaceKind.Stem, 8);
        d.Space("b", SpaceKind.Trunk, 8);
        d.Space("c", SpaceKind.Trunk, 8);
        d.Space("inner", SpaceKind.Inner, 4);
        d.Tie("b", "a");
        d.Tie("c", "b");
        return d;
    }

    [Test]
    public void WidthsWithGivesEverySpaceTiedThroughOthersTheNamedWidth()
    {
        var widths = Chain().WidthsWith(new Dictionary<string, int> { ["c"] = 5 });
        Assert.That(widths, Is.EquivalentTo(new Dictionary<string, int> { ["a"] = 5, ["b"] = 5, ["c"] = 5, ["inner"] = 4 }));
    }

    [Test]
    public void WidthsWithNothingNamedIsTheDeclaredWidths()
    {
        Assert.That(Chain().WidthsWith(new Dictionary<string, int>()),
            Is.EquivalentTo(new Dictionary<string, int> { ["a"] = 8, ["b"] = 8, ["c"] = 8, ["inner"] = 4 }));
    }

    [TestCase("a", 5, "c", 6, "tied", TestName = "TiedSpacesGivenDifferentWidthsAreRefused")]
    [TestCase("inner", 0, "a", 8, "at least one channel", TestName = "AWidthBelowOneIsRefused")]
    [TestCase("d", 3, "a", 8, "'d' is not declared", TestName = "AnUndeclaredSpaceIsRefused")]
    public void WidthsWithRefuses(string first, int firstWidth, string second, int secondWidth, string message)
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Chain().WidthsWith(new Dictionary<string, int> { [first] = firstWidth, [second] = secondWidth }));
        Assert.That(ex!.Message, Does.Contain(message));
    }
}
