using System.CommandLine;
using Harness.Data;

namespace Harness.Cli;

/// <summary>The data options shared by train, evaluate and the experiments.</summary>
public sealed class DataOptions
{
    public Option<string> Data { get; } = new("--data") { Description = "data folder: CIFAR-10 binary or python layout, or train/ and test/ image folders", DefaultValueFactory = _ => "data" };
    public Option<int> ImageSize { get; } = new("--image-size") { Description = "side the images are resized to (study: 224)", DefaultValueFactory = _ => 224 };
    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "images per batch (study: 128)", DefaultValueFactory = _ => 128 };
    public Option<int?> TrainSubset { get; } = new("--train-subset") { Description = "use only the first N training images (after the split)" };
    public Option<int?> ValSubset { get; } = new("--val-subset") { Description = "use only the first N validation images" };
    public Option<int?> TestSubset { get; } = new("--test-subset") { Description = "use N test images drawn with --seed (every class in about its share, also for class-sorted image folders)" };
    public Option<ulong> Seed { get; } = new("--seed") { Description = "seed of the split, the shuffles, the flips and of random initialisation (--weights none, the new head of imagenet)", DefaultValueFactory = _ => 42UL };

    public IEnumerable<Option> All => [Data, ImageSize, BatchSize, TrainSubset, ValSubset, TestSubset, Seed];

    public static LocatedDataset Open(string folder, TextWriter log)
    {
        if (!Directory.Exists(folder) || !Directory.EnumerateFileSystemEntries(folder).Any())
        {
            log.WriteLine($"--data '{folder}' is empty: downloading the official CIFAR-10 binary archive");
            new Harness.Data.Cifar.CifarDownloader { Progress = Downloads.Reporter("CIFAR-10") }.DownloadInto(folder);
        }
        var found = DatasetLocator.Open(folder, log.WriteLine);
        log.WriteLine($"data: {found.Description}");
        return found;
    }
}
