namespace Harness.Model.Channels;

/// <summary>
/// Every width of one concrete network of an architecture (as torchvision configures it, or after channel
/// pruning): the numbers a network is rebuilt from alone. Checked before anything is allocated, so that a
/// checkpoint's numbers can be refused before a layer is built.
/// </summary>
public interface INetworkWidths
{
    /// <summary>The architecture family (<see cref="IPrunableNetwork.Architecture"/>).</summary>
    string Architecture { get; }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the field when these widths describe no network the
    /// builder can make.</summary>
    void Validate();

    /// <summary>The shape of every conv and linear weight (state-dict key → shape) of the network.</summary>
    IReadOnlyDictionary<string, long[]> WeightShapes();

    /// <summary>A freshly initialised network with these widths (torchvision's initialisation).</summary>
    IPrunableNetwork Build();
}
