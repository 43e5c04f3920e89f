using Harness.Model.Channels;
using Harness.Model.Layers;
using static TorchSharp.torch;

namespace Harness.Model.Networks;

/// <summary>
/// What every declared family's module shares: its widths record, the channel declaration and rebuild that come
/// from it, the prunable layers in PyTorch's module order, the metadata record and the head replacement rule. A
/// family supplies the module tree, <see cref="Classifier"/>, <see cref="Stages"/>, how its head is re-made
/// (<see cref="MakeHead"/>) and its eval-mode forward as graph nodes (<see cref="WriteFeatures"/>).
/// </summary>
public abstract class PrunableNetwork<TWidths> : ExplicitModule, IPrunableNetwork where TWidths : class, INetworkWidths
{
    protected PrunableNetwork(string name, TWidths widths) : base(name)
    {
        widths.Validate();
        Widths = widths;
    }

    /// <summary>Every width of this network.</summary>
    public TWidths Widths { get; private set; }

    public string Architecture => Widths.Architecture;

    public nn.Module<Tensor, Tensor> Module => this;

    public int NumClasses => Widths.NumClasses;

    public abstract PrunableLinear Classifier { get; }

    public abstract IReadOnlyList<IReadOnlyList<string>> Stages { get; }

    public ChannelDeclaration DeclareChannels() => Widths.DeclareChannels();

    public IPrunableNetwork Rebuild(IReadOnlyDictionary<string, int> spaceWidths) => Widths.WithSpaceWidths(spaceWidths).Build();

    public IEnumerable<(string Name, PrunableLayer Layer)> PrunableLayers() => ModuleOrder.PrunableLayers(this);

    public virtual string MetadataJson() => NetworkMetadata.ToJson(Architecture, Widths);

    public void ReplaceClassifier(int numClasses)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "must be at least 1");
        MakeHead(numClasses);
        Widths = (TWidths)Widths.WithClasses(numClasses);
    }

    /// <summary>Replaces the classifier by a fresh one of <paramref name="numClasses"/> outputs with the family's own
    /// initialisation, on the old one's device and dtype.</summary>
    protected abstract void MakeHead(int numClasses);

    public abstract string WriteFeatures(IForwardGraph graph);
}
