using NUnit.Framework;

namespace Harness.Tests.TestSupport;

/// <summary>ML.NET's ImageNet-trained ResNet-18 as ONNX (NuGet <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>
/// 0.24.0, MIT), which <c>dotnet restore</c> of this project downloads (a <c>PackageDownload</c>) into the NuGet
/// packages folder; tests that need it are skipped, with the command, when it is absent.</summary>
public static class MlNetResNet
{
    public const string Package = "microsoft.ml.dnnimagefeaturizer.resnet18";
    public const string Version = "0.24.0";

    /// <summary>The package's <c>tools/DnnImageModels</c> folder in the NuGet packages folder.</summary>
    public static string Folder =>
        Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
            Package, Version, "tools", "DnnImageModels");

    public static string Model => Require(Path.Combine(Folder, "ResNet18Onnx", "ResNet18.onnx"));

    public static string Preprocess => Require(Path.Combine(Folder, "ResNetPrepOnnx", "ResNetPreprocess.onnx"));

    private static string Require(string path)
    {
        if (!File.Exists(path))
            Assert.Ignore($"Skipped: {path} is absent; 'dotnet restore tests/TestSupport' downloads NuGet {Package} {Version}");
        return path;
    }
}
