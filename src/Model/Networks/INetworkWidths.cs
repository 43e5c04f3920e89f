using Harness.Model.Channels;

namespace Harness.Model.Networks;

/// <summary>
/// Every width of one concrete network of an architecture (as torchvision configures it, or after channel
/// pruning): the numbers a network is rebuilt from alone. Checked before anything is allocated, so that a
/// checkpoint's numbers can be refused before a layer is built.
/// </summary>
public interface INetworkWidths
{
    /// <summary>The architecture family (<see cref="IPrunableNetwork.Architecture"/>).</summary>
    string Architecture { get; }

    /// <summary>Outputs of the classifier.</summary>
    int NumClasses { get; }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the field when these widths describe no network the
    /// builder can make.</summary>
    void Validate();

    /// <summary>The shape of every conv and linear weight (state-dict key → shape) of the network.</summary>
    IReadOnlyDictionary<string, long[]> WeightShapes();

    /// <summary>The channel spaces of the network these widths describe: spaces, members with their roles, ties.</summary>
    ChannelDeclaration DeclareChannels();

    /// <summary>The widths after giving the named spaces of <see cref="DeclareChannels"/> (and every space tied to
    /// them) new widths, the others keeping theirs. Goes through <see cref="ChannelDeclaration.WidthsWith"/>, so an
    /// unknown space name, or tied spaces given different widths, is an <see cref="ArgumentException"/>.</summary>
    INetworkWidths WithSpaceWidths(IReadOnlyDictionary<string, int> spaceWidths);

    /// <summary>The same network with another number of classes.</summary>
    INetworkWidths WithClasses(int numClasses);

    /// <summary>A freshly initialised network with these widths (torchvision's initialisation).</summary>
    IPrunableNetwork Build();
}
