using Google.Protobuf;
using Harness.Experiments;
using Harness.Tests.TestSupport;

namespace Harness.Tests.Unit.Experiments;

/// <summary>A study whose <c>--weights</c> is an ONNX model studies the model's import: its files are named after the
/// ONNX file, and no <c>--arch</c> applies to loading it.</summary>
public class StudyOnnxWeightsTests : TempDirectoryTest
{
    [Test]
    public void AnOnnxModelNamesTheStudysNetworkAndTakesNoArch()
    {
        string path = Path.Combine(Dir, "my model.onnx");
        File.WriteAllBytes(path, OnnxModels.Small().ToByteArray());
        var config = new StudyConfig { Weights = path };
        Assert.That(config.ImportsOnnx, Is.True);
        Assert.That(config.NetworkName, Is.EqualTo("my_model"));
        Assert.That(config.LoadArch, Is.Null);
        Assert.That(config.Experiments()[0].Name, Is.EqualTo("my_model_base"));
        var plain = new StudyConfig { Weights = "none", Arch = "resnet18" };
        Assert.That((plain.ImportsOnnx, plain.NetworkName, plain.LoadArch), Is.EqualTo((false, "resnet18", "resnet18")));
    }
}
