namespace Harness.Tests.TestSupport;

/// <summary>One state-dict entry as <c>torch.save</c> describes it in <c>data.pkl</c>: a storage (type, record key,
/// element count) and a view of it (offset, sizes, strides). Tests use it to craft files Harness never writes.</summary>
public sealed record TensorRecord(string Name, string StorageType, string Key, long StorageNumel, long Offset,
    long[] Size, long[] Stride)
{
    /// <summary>A contiguous float tensor over its own storage <paramref name="key"/>.</summary>
    public static TensorRecord Floats(string name, string key, params long[] size)
    {
        var stride = new long[size.Length];
        long s = 1;
        for (int i = size.Length - 1; i >= 0; i--)
        {
            stride[i] = s;
            s *= size[i];
        }
        return new TensorRecord(name, "FloatStorage", key, s, 0, size, stride);
    }
}
