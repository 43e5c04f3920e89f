using System.Security.Cryptography;

namespace Harness.Data;

/// <summary>The identity of a data set's content: SHA-256 over its image size, class names, labels and pixels,
/// so two folders holding the same images (any layout) agree and any other data differs.</summary>
public static class DatasetFingerprint
{
    public static string Of(ImageDataset data)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(BitConverter.GetBytes(data.Height));
        sha.AppendData(BitConverter.GetBytes(data.Width));
        sha.AppendData(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", data.Classes)));
        sha.AppendData(data.Labels);
        sha.AppendData(data.Pixels);
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }
}
