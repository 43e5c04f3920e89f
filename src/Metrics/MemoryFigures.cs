namespace Harness.Metrics;

/// <summary>Memory figures of one forward pass, each with the method that produced it.</summary>
/// <param name="ParameterBytes">Bytes of all parameters and buffers (masks included).</param>
/// <param name="ActivationPeakBytes">Peak live activation bytes from the liveness analysis
/// (<see cref="ActivationMemory.Method"/>).</param>
/// <param name="ActivationPeakAt">Module at which that peak occurs.</param>
/// <param name="ResidentGrowthBytes">Measured growth of the process's resident memory across one pass.</param>
/// <param name="ResidentMethod">How <paramref name="ResidentGrowthBytes"/> was measured.</param>
/// <param name="CudaPeakAllocatedBytes">Peak CUDA allocator bytes during one pass, when the binding exposes
/// them; null otherwise.</param>
/// <param name="CudaNote">Why <paramref name="CudaPeakAllocatedBytes"/> is null, when it is.</param>
public sealed record MemoryFigures(long ParameterBytes, long ActivationPeakBytes, string ActivationPeakAt,
    long ResidentGrowthBytes, string ResidentMethod, long? CudaPeakAllocatedBytes, string? CudaNote)
{
    /// <summary>How <see cref="ActivationPeakBytes"/> was computed.</summary>
    public string ActivationMethod => ActivationMemory.Method;

    /// <summary>Parameters plus peak activations: the liveness estimate of the forward pass's footprint.</summary>
    public long EstimatedPeakBytes => ParameterBytes + ActivationPeakBytes;
}
