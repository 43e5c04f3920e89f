namespace Harness.Data.Cifar;

/// <summary>Reads the "binary version" of CIFAR-10: records of one label byte then 3072 pixel bytes.</summary>
public static class CifarBinaryBatchReader
{
    public const int RecordBytes = 1 + CifarBatch.ImageBytes;

    public static CifarBatch Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"CIFAR batch file '{path}' is missing", path);
        byte[] data = File.ReadAllBytes(path);
        if (data.Length == 0 || data.Length % RecordBytes != 0)
            throw new InvalidDataException(
                $"{path}: size {data.Length} bytes is not a whole number of {RecordBytes}-byte CIFAR-10 records");
        int n = data.Length / RecordBytes;
        var pixels = new byte[n * CifarBatch.ImageBytes];
        var labels = new byte[n];
        for (int i = 0; i < n; i++)
        {
            byte label = data[i * RecordBytes];
            if (label > 9)
                throw new InvalidDataException($"{path}: record {i} has label {label}, outside 0–9");
            labels[i] = label;
            Buffer.BlockCopy(data, i * RecordBytes + 1, pixels, i * CifarBatch.ImageBytes, CifarBatch.ImageBytes);
        }
        return new CifarBatch(pixels, labels, n, path);
    }
}
