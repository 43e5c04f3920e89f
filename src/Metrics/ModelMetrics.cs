namespace Harness.Metrics;

/// <summary>
/// Every measurement of one model: counts, sizes, MACs in both conventions, and — when measured — latency (eager
/// and ONNX Runtime), memory, test loss and accuracy. Immutable; tables, files and plots read it through
/// <see cref="MetricColumns"/>. The members every metrics file has are <c>required</c>; every other is optional
/// (null when not measured), so a measurement added later leaves older <c>metrics/*.json</c> files readable.
/// </summary>
public sealed record ModelMetrics
{
    /// <summary>Model name shown in tables and plots.</summary>
    public required string Name { get; init; }

    /// <summary>Elements of all parameters (for masked layers: <c>weight_orig</c>, not the mask).</summary>
    public required long Parameters { get; init; }

    /// <summary>Nonzero elements of the parameters the forward pass uses (masks applied).</summary>
    public required long NonzeroParameters { get; init; }

    /// <summary>Bytes of the saved PyTorch state-dict file.</summary>
    public required long SizeBytes { get; init; }

    /// <summary>Bytes of the sparse checkpoint, when a sparse writer was given.</summary>
    public long? SparseSizeBytes { get; init; }

    /// <summary>Input side of the MAC count and of the timings.</summary>
    public required int ImageSize { get; init; }

    /// <summary>Dense MACs under thop's rules.</summary>
    public required long MacsThop { get; init; }

    /// <summary>Dense MACs under torchprofile's rules.</summary>
    public required long MacsTorchProfile { get; init; }

    /// <summary>thop MACs with convolutions and Linear skipping zero weights.</summary>
    public required long EffectiveMacsThop { get; init; }

    /// <summary>torchprofile MACs with convolutions and Linear skipping zero weights.</summary>
    public required long EffectiveMacsTorchProfile { get; init; }

    /// <summary>Timed forward passes, when measured.</summary>
    public LatencyStats? Latency { get; init; }

    /// <summary>Memory figures, when measured.</summary>
    public MemoryFigures? Memory { get; init; }

    /// <summary>Mean test cross-entropy, when evaluated.</summary>
    public double? TestLoss { get; init; }

    /// <summary>Test top-1 accuracy in [0, 1], when evaluated.</summary>
    public double? TestAccuracy { get; init; }

    /// <summary>The same timed passes in ONNX Runtime (the exported model, BatchNorm folded), when measured.</summary>
    public LatencyStats? OnnxLatency { get; init; }

    /// <summary>The int8 QDQ export in ONNX Runtime (size, latency, test loss and accuracy), when quantized.</summary>
    public Int8Metrics? Int8 { get; init; }

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
