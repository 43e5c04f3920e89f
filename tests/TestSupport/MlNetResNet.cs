using NUnit.Framework;

namespace Harness.Tests.TestSupport;

/// <summary>ML.NET's ImageNet-trained ResNet-18 as ONNX (NuGet <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>
/// 0.24.0, MIT), which <c>dotnet restore</c> of this project downloads (a <c>PackageDownload</c>) into the NuGet
/// packages folder; tests that need it are skipped, with the command, when it is absent.</summary>
public static class MlNetResNet
{
    public const string Package = Harness.Model.Import.PretrainedOnnx.Package;
    public const string Version = Harness.Model.Import.PretrainedOnnx.Version;

    public static string Model => Require(Harness.Model.Import.PretrainedOnnx.Files.Model);

    public static string Preprocess => Require(Harness.Model.Import.PretrainedOnnx.Files.Preprocess);

    private static string Require(string path)
    {
        if (!File.Exists(path))
            Assert.Ignore($"Skipped: {path} is absent; 'dotnet restore tests/TestSupport' downloads NuGet {Package} {Version}");
        return path;
    }
}
