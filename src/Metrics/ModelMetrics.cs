namespace Harness.Metrics;

/// <summary>The study's six measurements of one model. Immutable; tables, files and plots read it.</summary>
/// <param name="Name">Model name shown in tables and plots.</param>
/// <param name="Parameters">Elements of all parameters (for masked layers: <c>weight_orig</c>, not the mask).</param>
/// <param name="NonzeroParameters">Nonzero elements of the parameters the forward pass uses (masks applied).</param>
/// <param name="SizeBytes">Bytes of the saved PyTorch state-dict file.</param>
/// <param name="SparseSizeBytes">Bytes of the sparse checkpoint, when a sparse writer was given.</param>
/// <param name="ImageSize">Input side of the MAC count and of the timings.</param>
/// <param name="MacsThop">Dense MACs under thop's rules.</param>
/// <param name="MacsTorchProfile">Dense MACs under torchprofile's rules.</param>
/// <param name="EffectiveMacsThop">thop MACs with convolutions and Linear skipping zero weights.</param>
/// <param name="EffectiveMacsTorchProfile">torchprofile MACs with convolutions and Linear skipping zero weights.</param>
/// <param name="Latency">Timed forward passes, when measured.</param>
/// <param name="Memory">Memory figures, when measured.</param>
/// <param name="TestLoss">Mean test cross-entropy, when evaluated.</param>
/// <param name="TestAccuracy">Test top-1 accuracy in [0, 1], when evaluated.</param>
/// <param name="OnnxLatency">The same timed passes in ONNX Runtime (the exported model, BatchNorm folded), when measured.</param>
public sealed record ModelMetrics(
    string Name,
    long Parameters,
    long NonzeroParameters,
    long SizeBytes,
    long? SparseSizeBytes,
    int ImageSize,
    long MacsThop,
    long MacsTorchProfile,
    long EffectiveMacsThop,
    long EffectiveMacsTorchProfile,
    LatencyStats? Latency,
    MemoryFigures? Memory,
    double? TestLoss,
    double? TestAccuracy,
    LatencyStats? OnnxLatency = null)
{
    /// <summary>Fraction of parameters that are zero.</summary>
    public double Sparsity => Parameters == 0 ? 0 : 1 - (double)NonzeroParameters / Parameters;

    /// <summary>State-dict file size in MB (10⁶ bytes).</summary>
    public double SizeMB => SizeBytes / 1e6;

    /// <summary>Sparse checkpoint size in MB (10⁶ bytes), when known.</summary>
    public double? SparseSizeMB => SparseSizeBytes / 1e6;

    /// <summary>Dense MACs under <paramref name="convention"/>.</summary>
    public long Macs(MacConvention convention) => convention == MacConvention.Thop ? MacsThop : MacsTorchProfile;

    /// <summary>MACs skipping zero weights under <paramref name="convention"/>.</summary>
    public long EffectiveMacs(MacConvention convention) =>
        convention == MacConvention.Thop ? EffectiveMacsThop : EffectiveMacsTorchProfile;

    /// <summary>Dense FLOPs (2 × MACs) under <paramref name="convention"/>.</summary>
    public long Flops(MacConvention convention) => 2 * Macs(convention);
}
