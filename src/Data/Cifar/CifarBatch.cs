namespace Harness.Data.Cifar;

/// <summary>One CIFAR batch file: <see cref="Count"/> images of 3×32×32 bytes (CHW, as CIFAR stores them) and labels.</summary>
public sealed record CifarBatch(byte[] Pixels, byte[] Labels, int Count, string Source)
{
    public const int ImageBytes = 3 * 32 * 32;
}
