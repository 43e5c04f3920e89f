namespace Harness.Experiments;

/// <summary>Named study configurations (<c>study --preset NAME</c>); options given beside a preset override its
/// values, as they do a <c>--config</c> file's.</summary>
public static class StudyPresets
{
    public const string Demo = "demo";

    public static IReadOnlyList<string> Names { get; } = [Demo];

    /// <summary>The demo: the complete study (base, fine-grained 0.2/0.5, channel 0.2/0.8, metrics, plots, report) in
    /// a few minutes on two cores, on the CIFAR-10 subset embedded in the repository (<paramref name="data"/>: 1,500
    /// training and 500 test images as PNG folders, see <c>demo/cifar10/README.md</c>). With
    /// <paramref name="pretrained"/> its network is ML.NET's ImageNet-trained ResNet-18 (<c>--weights
    /// mlnet-resnet18</c>), fine-tuned with the stem and first two stages frozen as in the study; without, a resnet18
    /// from scratch with nothing frozen (frozen random layers learn nothing). 64 px keeps a training epoch near ten
    /// seconds; the pruned experiments fine-tune at half the base's learning rate.</summary>
    public static StudyConfig DemoConfig(string data, bool pretrained) => new()
    {
        Data = data,
        Weights = pretrained ? Harness.Model.Import.PretrainedOnnx.MlNetResNet18 : "none",
        Arch = "resnet18",
        Device = "cpu",
        Output = Path.Combine("runs", "demo"),
        ImageSize = 64,
        BatchSize = 32,
        Seed = 42,
        LearningRate = 0.01,
        FineTuneLearningRate = 0.005,
        LrStepSize = 2,
        LrGamma = 0.1,
        BaseEpochs = 3,
        FineGrainedEpochs = 1,
        ChannelEpochs = 2,
        FineGrainedAmounts = [0.2, 0.5],
        ChannelRatios = [0.2, 0.8],
        RoundTo = 8,
        FrozenStages = pretrained ? [0, 1, 2] : [],
        LatencyRuns = 20,
    };
}
