using Harness.Model;
using Harness.Model.Families;
using Harness.Model.Networks;
using Harness.Storage.Checkpoints;

namespace Harness.Tests.TestSupport;

/// <summary>EfficientNet-typed loading for tests that reach into EfficientNet's blocks (the library loads any
/// family through <see cref="ModelLoader.LoadNetwork(string)"/>).</summary>
public static class EfficientNets
{
    /// <summary>The EfficientNet <paramref name="weights"/> names (B0 for <c>none</c>/<c>imagenet</c>).</summary>
    public static EfficientNet Load(string weights, int numClasses = 10, WeightsResolver? resolver = null, ulong seed = 0) =>
        Require(ModelLoader.LoadNetwork(weights, null, numClasses, resolver, seed), weights);

    /// <summary>A freshly initialised network whose weights depend on <paramref name="seed"/> alone.</summary>
    public static EfficientNet Create(EfficientNetConfig config, ulong seed)
    {
        TorchSharp.torch.manual_seed(unchecked((long)seed));
        return EfficientNet.Create(config);
    }

    /// <summary>An EfficientNet rebuilt from a checkpoint alone.</summary>
    public static EfficientNet LoadCheckpoint(string path) => Require(ModelLoader.LoadNetwork(path), path);

    private static EfficientNet Require(IPrunableNetwork network, string source)
    {
        if (network is EfficientNet model) return model;
        string family = network.Architecture;
        network.Dispose();
        throw new CheckpointFormatException($"{source}: holds a {family} network; this needs an EfficientNet");
    }
}
