namespace Harness.Model.Networks;

/// <summary>
/// One architecture family as the loader and the commands see it: its <c>--arch</c> variants, how it is recognised
/// from a state dict's keys, and how its widths are read back from tensor shapes or from Harness's metadata record.
/// <see cref="Architectures"/> lists them.
/// </summary>
public interface INetworkArchitecture
{
    /// <summary>The family name (<see cref="IPrunableNetwork.Architecture"/>, the metadata's <c>architecture</c>).</summary>
    string Family { get; }

    /// <summary>The <c>--arch</c> names of the configurations torchvision defines (<c>resnet18</c>, …).</summary>
    IReadOnlyList<string> Variants { get; }

    /// <summary>The widths of a variant with a head of <paramref name="numClasses"/>.</summary>
    INetworkWidths Create(string variant, int numClasses);

    /// <summary>The file name of torchvision's ImageNet checkpoint of a variant (its IMAGENET1K_V1 weights, named as
    /// torch hub names them: the SHA-256 prefix after the last '-'), or null when torchvision publishes none.</summary>
    string? ImageNetFile(string variant);

    /// <summary>True when a state dict with these keys (masked <c>_orig</c>/<c>_mask</c> names included) is of this family.</summary>
    bool Recognises(IReadOnlyCollection<string> keys);

    /// <summary>The widths of a (possibly pruned) network from its tensor shapes alone; an
    /// <see cref="InvalidDataException"/> names what is missing or wrong.</summary>
    INetworkWidths FromShapes(IReadOnlyDictionary<string, long[]> shapes);

    /// <summary>The widths from Harness's metadata record (<see cref="IPrunableNetwork.MetadataJson"/>); a
    /// <see cref="System.Text.Json.JsonException"/> when it is malformed.</summary>
    INetworkWidths FromMetadata(string json);
}
