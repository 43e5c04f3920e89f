namespace Harness.Model.Import;

/// <summary>
/// Pretrained networks Harness can name in <c>--weights</c> that come as ONNX files from the package registry rather
/// than from torchvision's server: <c>mlnet-resnet18</c>, ML.NET's ImageNet-trained ResNet-18 (NuGet
/// <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> 0.24.0, MIT; a CNTK 2.6 export with a 224×224 mean-image
/// preprocessing graph beside it). Building <c>src/Cli</c> downloads the package (a <c>PackageDownload</c>) into NuGet's
/// global packages folder, which is its cache, as torch hub's folder is torchvision's; nothing is fetched at run time.
/// </summary>
public static class PretrainedOnnx
{
    public const string MlNetResNet18 = "mlnet-resnet18";
    public const string Package = "microsoft.ml.dnnimagefeaturizer.resnet18";
    public const string Version = "0.24.0";

    /// <summary>BatchNorm momentum of the import (PyTorch's default, with which a torchvision ResNet fine-tunes):
    /// the file's CNTK momentum (PyTorch's 0.0117) keeps ImageNet's running statistics for hundreds of batches, so a
    /// model fine-tuned on a few thousand images at another resolution evaluates with statistics it never saw.</summary>
    public const double BatchNormMomentum = 0.1;

    /// <summary>True when <paramref name="weights"/> names a pretrained ONNX network.</summary>
    public static bool IsName(string weights) => weights.Equals(MlNetResNet18, StringComparison.OrdinalIgnoreCase);

    /// <summary>NuGet's global packages folder: <c>$NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>.</summary>
    public static string PackagesFolder =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static string ModelsFolder => Path.Combine(PackagesFolder, Package, Version, "tools", "DnnImageModels");

    /// <summary>The network's ONNX file and its preprocessing graph.</summary>
    public static (string Model, string Preprocess) Files =>
        (Path.Combine(ModelsFolder, "ResNet18Onnx", "ResNet18.onnx"), Path.Combine(ModelsFolder, "ResNetPrepOnnx", "ResNetPreprocess.onnx"));

    /// <summary>True when the package's files are in the NuGet packages folder.</summary>
    public static bool Available => File.Exists(Files.Model) && File.Exists(Files.Preprocess);

    /// <summary>The model file, or a one-line <see cref="FileNotFoundException"/> saying how to get it.</summary>
    public static string RequireModel()
    {
        if (!Available)
            throw new FileNotFoundException(
                $"--weights {MlNetResNet18}: {Files.Model} is absent; 'dotnet restore src/Cli' downloads NuGet {Package} {Version} into {PackagesFolder}, or pass --weights none",
                Files.Model);
        return Files.Model;
    }

    /// <summary>Imports the network with its preprocessing folded in front and a fresh <paramref name="numClasses"/>
    /// head seeded by <paramref name="seed"/>.</summary>
    public static Harness.Model.Families.GraphNetwork Import(int numClasses, ulong seed) =>
        OnnxImporter.Import(new OnnxImportOptions(RequireModel(), Files.Preprocess, numClasses, seed) { BatchNormMomentum = BatchNormMomentum });
}
