using static TorchSharp.torch;

namespace Harness.Data;

/// <summary>One transformed batch on the compute device; the consumer disposes it.</summary>
public sealed class Batch(Tensor images, Tensor labels) : IDisposable
{
    public Tensor Images { get; } = images;
    public Tensor Labels { get; } = labels;
    public int Count => (int)Labels.shape[0];

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
