using Harness.Model.Channels;
using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Model.Networks;

/// <summary>
/// A network Harness can prune, train, measure and export: a module tree with torchvision's names whose every
/// conv and linear layer is a <see cref="PrunableLayer"/>, that declares its channel spaces and rebuilds itself with
/// other widths. Implemented by the module itself (<c>Harness.Model.Families</c>, on the <see cref="PrunableNetwork{TWidths}"/> base); <see cref="Module"/> is that
/// module.
/// </summary>
public interface IPrunableNetwork : IDisposable
{
    /// <summary>Short name of the architecture family (<c>efficientnet</c>, <c>resnet</c>, <c>mobilenet_v2</c>).</summary>
    string Architecture { get; }

    /// <summary>The module itself.</summary>
    nn.Module<Tensor, Tensor> Module { get; }

    /// <summary>The channel spaces of this network, with its current widths.</summary>
    ChannelDeclaration DeclareChannels();

    /// <summary>A freshly initialised network of the same architecture in which the named spaces (and every space
    /// tied to them) have the given widths and all others keep theirs. Names are those of
    /// <see cref="DeclareChannels"/>.</summary>
    IPrunableNetwork Rebuild(IReadOnlyDictionary<string, int> spaceWidths);

    /// <summary>Every conv and linear layer with the state-dict name of its module, in module order.</summary>
    IEnumerable<(string Name, PrunableLayer Layer)> PrunableLayers();

    /// <summary>The final linear layer (its outputs are the classes; never channel-pruned).</summary>
    PrunableLinear Classifier { get; }

    int NumClasses { get; }

    /// <summary>Replaces the classifier by a freshly initialised one (the architecture's own initialisation) with
    /// <paramref name="numClasses"/> outputs, as the study replaced ImageNet's 1000-class head; the widths follow.</summary>
    void ReplaceClassifier(int numClasses);

    /// <summary>The module-name prefixes of each stage, in order, as <c>--freeze</c> numbers them (EfficientNet:
    /// stage k is <c>features.k</c>; ResNet: 0 is <c>conv1</c>/<c>bn1</c>, 1–4 are <c>layer1</c>–<c>layer4</c>).</summary>
    IReadOnlyList<IReadOnlyList<string>> Stages { get; }

    /// <summary>The checkpoint metadata record Harness writes beside the tensors: every width, exactly, as JSON,
    /// with an <c>architecture</c> member for every family but EfficientNet (whose record predates it).</summary>
    string MetadataJson();

    /// <summary>Writes the eval-mode forward from <see cref="IForwardGraph.Input"/> to the classifier's input (the pooled,
    /// flattened features) as graph nodes and returns that value's name; the exporter adds the classifier. A network
    /// that cannot state its graph is refused by name.</summary>
    string WriteFeatures(IForwardGraph graph) =>
        throw new NotSupportedException($"ONNX export has no graph writer for {Architecture} networks");
}
