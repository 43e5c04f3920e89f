using NUnit.Framework;
using static TorchSharp.torch;

namespace Harness.Tests.TestSupport;

public static class TensorAssert
{
    /// <summary>True when both tensors have the same shape and every element is bit-for-bit equal.</summary>
    public static bool Identical(Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    public static void AreIdentical(Tensor expected, Tensor actual, string? because = null) =>
        Assert.That(Identical(expected, actual), Is.True, because ?? "tensors differ");

    public static double MaxAbsDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();
}
