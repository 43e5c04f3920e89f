using Harness.Data.Cifar;
using Harness.Data.ImageFolder;

namespace Harness.Data;

/// <summary>
/// Finds a data set in a folder: CIFAR-10's binary layout (<c>cifar-10-batches-bin/</c>), its python layout
/// (<c>cifar-10-batches-py/</c>, what torchvision writes) or an image-folder layout (<c>train/&lt;class&gt;/…</c>,
/// <c>test/&lt;class&gt;/…</c>). The folder may be the layout folder itself or contain it.
/// </summary>
public static class DatasetLocator
{
    public static LocatedDataset Open(string folder, Action<string>? log = null)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"--data '{folder}': no such folder");
        string full = Path.GetFullPath(folder);
        string? bin = FirstExisting(full, "cifar-10-batches-bin", "data_batch_1.bin");
        if (bin is not null) return Cifar(bin, DataLayout.CifarBinary, ".bin", CifarBinaryBatchReader.Read);
        string? py = FirstExisting(full, "cifar-10-batches-py", "data_batch_1");
        if (py is not null) return Cifar(py, DataLayout.CifarPython, "", CifarPythonBatchReader.Read);
        if (Directory.Exists(Path.Combine(full, "train")) && Directory.Exists(Path.Combine(full, "test")))
        {
            var (train, test) = ImageFolderReader.ReadSplit(full, log);
            return new LocatedDataset(train, test, DataLayout.ImageFolder,
                $"image folders in {full} ({train.Count} train, {test.Count} test images, {train.Classes.Count} classes)");
        }
        throw new InvalidDataException(
            $"--data '{folder}': found neither cifar-10-batches-bin/, cifar-10-batches-py/ nor train/ and test/ image folders");
    }

    private static string? FirstExisting(string root, string layoutFolder, string marker)
    {
        if (File.Exists(Path.Combine(root, marker))) return root;
        string child = Path.Combine(root, layoutFolder);
        return Directory.Exists(child) ? child : null;
    }

    private static LocatedDataset Cifar(string dir, DataLayout layout, string ext, Func<string, CifarBatch> read)
    {
        var train = Enumerable.Range(1, 5).Select(i => read(Path.Combine(dir, $"data_batch_{i}{ext}"))).ToList();
        var test = read(Path.Combine(dir, $"test_batch{ext}"));
        ImageDataset ToSet(IReadOnlyList<CifarBatch> b, string name) => new(
            b.SelectMany(x => x.Pixels).ToArray(), b.SelectMany(x => x.Labels).ToArray(), 32, 32, CifarClasses.Names, $"{dir} ({name})");
        var trainSet = ToSet(train, "train");
        var testSet = ToSet([test], "test");
        string kind = layout == DataLayout.CifarBinary ? "CIFAR-10 binary version" : "CIFAR-10 python version";
        return new LocatedDataset(trainSet, testSet, layout, $"{kind} in {dir} ({trainSet.Count} train, {testSet.Count} test images)");
    }
}
