using Harness.Storage.Pickle;

namespace Harness.Data.Cifar;

/// <summary>
/// Reads the "python version" of CIFAR-10 (the files torchvision uses): a pickled dict with <c>labels</c> and a
/// numpy uint8 array <c>data</c> of shape (N, 3072). Only the numpy globals needed to rebuild that array are
/// allowed; nothing in the file is executed.
/// </summary>
public static class CifarPythonBatchReader
{
    private static readonly string[] NumpyGlobals =
    [
        "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype",
    ];

    public static CifarBatch Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"CIFAR batch file '{path}' is missing", path);
        var unpickler = new RestrictedUnpickler(path, NumpyGlobals);
        object? root = unpickler.Load(File.ReadAllBytes(path));
        if (root is not PyDict dict)
            throw new InvalidDataException($"{path}: not a CIFAR batch (the pickle holds no dict)");
        if (!dict.TryGet("data", out var data) || !dict.TryGet("labels", out var labelsObj))
            throw new InvalidDataException($"{path}: not a CIFAR batch (keys 'data' and 'labels' are required)");
        byte[] pixels = ArrayBytes(data, path, out long rows);
        if (labelsObj is not List<object?> labelList)
            throw new InvalidDataException($"{path}: 'labels' is not a list");
        if (labelList.Count != rows)
            throw new InvalidDataException($"{path}: {labelList.Count} labels for {rows} images");
        var labels = new byte[labelList.Count];
        for (int i = 0; i < labels.Length; i++)
        {
            if (labelList[i] is not long v || v is < 0 or > 9)
                throw new InvalidDataException($"{path}: label {i} is {labelList[i] ?? "None"}, outside 0–9");
            labels[i] = (byte)v;
        }
        return new CifarBatch(pixels, labels, labels.Length, path);
    }

    /// <summary>The raw bytes of a numpy uint8 array of shape (N, 3072) rebuilt by <c>_reconstruct</c> + BUILD.</summary>
    private static byte[] ArrayBytes(object? data, string path, out long rows)
    {
        if (data is not PyObject { State: object?[] state } array || array.Type.Name != "_reconstruct" || state.Length < 5)
            throw new InvalidDataException($"{path}: 'data' is not a numpy array");
        if (state[1] is not object?[] { Length: 2 } shape || shape[0] is not long n || shape[1] is not long cols || cols != CifarBatch.ImageBytes)
            throw new InvalidDataException($"{path}: 'data' must have shape (N, {CifarBatch.ImageBytes})");
        if (state[2] is not PyObject { Type.Name: "dtype" } dtype || dtype.Args.Length < 1 || !IsUInt8(dtype.Args[0]))
            throw new InvalidDataException($"{path}: 'data' must be a uint8 array");
        if (state[3] is true)
            throw new InvalidDataException($"{path}: Fortran-ordered arrays are not supported");
        byte[] raw = state[4] switch
        {
            byte[] b => b,
            string s => System.Text.Encoding.Latin1.GetBytes(s),
            _ => throw new InvalidDataException($"{path}: 'data' has no raw byte content"),
        };
        if (raw.LongLength != n * cols)
            throw new InvalidDataException($"{path}: 'data' holds {raw.LongLength} bytes, expected {n} × {cols} (truncated?)");
        rows = n;
        return raw;
    }

    private static bool IsUInt8(object? code) => code switch
    {
        string s => s is "u1" or "|u1" or "uint8",
        byte[] b => System.Text.Encoding.ASCII.GetString(b) is "u1" or "|u1" or "uint8",
        _ => false,
    };
}
