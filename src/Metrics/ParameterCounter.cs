using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>Parameter counts: all parameter elements, and the nonzero elements of what the forward pass uses.</summary>
public static class ParameterCounter
{
    public static (long Parameters, long Nonzero) Count(nn.Module model)
    {
        using var scope = NewDisposeScope();
        long total = 0, nonzero = 0;
        foreach (var p in model.parameters())
        {
            total += p.numel();
            nonzero += p.count_nonzero().item<long>();
        }
        return (total, nonzero);
    }
}
