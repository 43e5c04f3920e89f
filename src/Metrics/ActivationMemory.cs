namespace Harness.Metrics;

/// <summary>Peak bytes of activations held at once during one forward pass, from a liveness analysis of the
/// recorded pass (see <see cref="Method"/>).</summary>
/// <param name="PeakBytes">Largest total of live activation bytes (the input included) at any hook event.</param>
/// <param name="PeakAt">The module whose start or end is the event of the peak.</param>
/// <param name="InputBytes">Bytes of the input tensor.</param>
public sealed record ActivationMemory(long PeakBytes, string PeakAt, long InputBytes)
{
    /// <summary>How <see cref="PeakBytes"/> is obtained.</summary>
    public const string Method =
        "activation liveness: every tensor a module takes or returns is live from the hook event that first " +
        "sees it until the end of the last module call that takes it as input (a container's input stays live " +
        "until the container returns, which holds residual and squeeze-excitation inputs); tensors sharing " +
        "storage count once; temporaries inside one module (masked weights, convolution workspaces) are excluded";
}
