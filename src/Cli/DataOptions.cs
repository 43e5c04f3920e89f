using Harness.Data;
using System.CommandLine;


namespace Harness.Cli;

/// <summary>The data options shared by train, evaluate and the experiments.</summary>
public sealed class DataOptions
{
    public Option<string> Data { get; } = new("--data") { Description = "data folder: CIFAR-10 binary or python layout, or train/ and test/ image folders", DefaultValueFactory = _ => "data" };
    public Option<int> ImageSize { get; } = new Option<int>("--image-size") { Description = "side the images are resized to (study: 224)", DefaultValueFactory = _ => 224 }.ImageSide();
    public Option<int> BatchSize { get; } = new Option<int>("--batch-size") { Description = "images per batch (study: 128)", DefaultValueFactory = _ => 128 }.AtLeast(1);
    public Option<int?> TrainSubset { get; } = new Option<int?>("--train-subset") { Description = "use only the first N training images (after the split; default: all)" }.AtLeast(1);
    public Option<int?> ValSubset { get; } = new Option<int?>("--val-subset") { Description = "use only the first N validation images (default: all)" }.AtLeast(1);
    public Option<int?> TestSubset { get; } = new Option<int?>("--test-subset") { Description = "use N test images drawn with --seed (every class in about its share, also for class-sorted image folders; default: all)" }.AtLeast(1);
    public Option<ulong> Seed { get; } = new("--seed") { Description = "seed of the split, the shuffles, the flips and of random initialisation (--weights none, the new head of imagenet)", DefaultValueFactory = _ => 42UL };

    public Option<bool> Download { get; } = new("--download") { Description = "download the official CIFAR-10 binary archive (MD5-checked) into --data, created if missing, when it holds no data set" };

    /// <summary>What training reads: the training set, split into train and validation.</summary>
    public IEnumerable<Option> ForTraining => [Data, Download, ImageSize, BatchSize, TrainSubset, ValSubset, Seed];

    /// <summary>What evaluation reads: the test set.</summary>
    public IEnumerable<Option> ForEvaluation => [Data, Download, ImageSize, BatchSize, TestSubset, Seed];

    /// <summary>The data set in <paramref name="folder"/>. A missing path or a file is an error; an empty folder is
    /// one too unless <paramref name="download"/> asks for CIFAR-10 to be fetched into it.</summary>
    public static LocatedDataset Open(string folder, TextWriter log, bool download = false)
    {
        if (File.Exists(folder))
            throw new ArgumentException($"--data '{folder}' is a file: expected a folder holding cifar-10-batches-bin/, cifar-10-batches-py/ or train/ and test/ image folders");
        bool empty = !Directory.Exists(folder) || !Directory.EnumerateFileSystemEntries(folder).Any();
        if (empty && !download)
            throw new DirectoryNotFoundException(Directory.Exists(folder)
                ? $"--data '{folder}' is empty: put CIFAR-10 there (binary or python layout, or train/ and test/ image folders) or add --download to fetch it"
                : $"--data '{folder}' does not exist: expected a folder holding CIFAR-10 (add --download to fetch it there)");
        if (empty)
        {
            log.WriteLine($"--data '{folder}' holds no data set: downloading the official CIFAR-10 binary archive");
            new Harness.Data.Cifar.CifarDownloader { Progress = Downloads.Reporter("CIFAR-10") }.DownloadInto(folder);
        }
        var found = DatasetLocator.Open(folder, log.WriteLine);
        log.WriteLine($"data: {found.Description}");
        return found;
    }
}
