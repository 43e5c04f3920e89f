using Harness.Data;
using Harness.Data.Cifar;
using Harness.Model.Families;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using Harness.Training;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Tests.Parity;

/// <summary>From identical weights and batches, Harness's training loop (<see cref="Trainer"/>: SGD with momentum
/// and weight decay, StepLR over epochs, the frozen-stage rule) in train mode, dropout and stochastic depth
/// disabled, equals <c>torch.optim.SGD</c> + <c>StepLR</c>: every tensor of the state dict — weights, BatchNorm
/// running statistics, <c>num_batches_tracked</c> — within 1e-6, and the frozen tensors untouched on both sides.
/// Both sides run in float64: in float32 the convolution backward kernels of libtorch 2.10 and PyTorch 1.13 round
/// differently (about 3e-5 on depthwise weights after one step of B0), and from torchvision's initialisation the
/// early steps amplify such differences; in float64 what remains is the algorithm.</summary>
[TestFixture, Category("Parity")]
public sealed class OptimizerParityTests : ParityFixture
{
    private const int Epochs = 3, StepsPerEpoch = 2, BatchSize = 8;
    private static readonly TrainingOptions Options = new()
    {
        Epochs = Epochs,
        BatchSize = BatchSize,
        LearningRate = 0.01,
        Momentum = 0.9,
        WeightDecay = 5e-4,
        StepSize = 2,
        Gamma = 0.1,
        FrozenStages = [0, 1, 2],
        ImageSize = 32,
    };

    [TestCaseSource(nameof(Variants))]
    public void TrainingStepsEqualTorchOptimSgdWithStepLr(string variant)
    {
        string folder = Directory.CreateDirectory(In(variant)).FullName;
        int threads = get_num_threads();
        set_num_threads(1);
        try
        {
            var config = Config(variant) with { Dropout = 0, StochasticDepthProb = 0 };
            manual_seed(51);
            using var model = EfficientNet.Create(config);
            model.to(float64);
            RandomBatchNorm.Randomise(model, 52);
            using var initial = StateDict.FromModule(model);
            TorchCheckpoint.Save(Path.Combine(folder, "initial.pth"), initial);

            var data = RandomImages(StepsPerEpoch * BatchSize, seed: 53);
            WriteBatches(data, Path.Combine(folder, "batches.pth"));
            File.WriteAllText(Path.Combine(folder, "params.json"), JsonSerializer.Serialize(new
            {
                variant,
                lr = Options.LearningRate,
                momentum = Options.Momentum,
                weight_decay = Options.WeightDecay,
                step_size = Options.StepSize,
                gamma = Options.Gamma,
                epochs = Epochs,
                steps_per_epoch = StepsPerEpoch,
                frozen_prefixes = Options.FrozenStages.Select(s => $"features.{s}.").ToArray(),
            }));

            var transform = new BatchTransform { ImageSize = 32, Precision = ScalarType.Float64 };
            var result = new Trainer(Options, TextWriter.Null).Train(model,
                new BatchLoader(data, BatchSize, shuffle: false, transform, CPU),
                new BatchLoader(data, BatchSize, shuffle: false, transform, CPU), TrainingRun.For("parity", folder));
            Assert.That(result.History, Has.Count.EqualTo(Epochs));

            PythonTorch.Run("sgd_steps.py", folder);
            using var torchFinal = TorchCheckpoint.Load(Path.Combine(folder, "final.pth"));
            using var harnessFinal = StateDict.FromModule(model);
            Assert.That(harnessFinal.Keys, Is.EqualTo(torchFinal.Keys));
            double worst = 0;
            string worstName = "";
            int frozen = 0;
            foreach (var (name, tensor) in harnessFinal.Items)
            {
                var expected = torchFinal[name];
                double diff = MaxAbsDifference(expected, tensor);
                if (diff > worst) (worst, worstName) = (diff, name);
                bool isFrozenParameter = Options.FrozenStages.Any(s => name.StartsWith($"features.{s}.", StringComparison.Ordinal))
                                         && (name.EndsWith(".weight", StringComparison.Ordinal) || name.EndsWith(".bias", StringComparison.Ordinal));
                if (isFrozenParameter)
                {
                    frozen++;
                    Assert.That(TensorAssert.Identical(initial[name], tensor), Is.True, $"Harness changed frozen {name}");
                    Assert.That(TensorAssert.Identical(initial[name], expected), Is.True, $"PyTorch changed frozen {name}");
                }
                if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
                    Assert.That(tensor.item<long>(), Is.EqualTo(expected.item<long>()).And.EqualTo(initial[name].item<long>() + Epochs * StepsPerEpoch), name);
            }
            var losses = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "losses.json"))).RootElement;
            double harnessLast = result.History[^1].TrainLoss, torchLastEpoch = losses.GetProperty("losses").EnumerateArray()
                .TakeLast(StepsPerEpoch).Average(e => e.GetDouble());
            Report($"{variant}: {Epochs * StepsPerEpoch} steps, {frozen} frozen tensors untouched on both sides; " +
                   $"max |Δ| over {harnessFinal.Count} state tensors {worst:E2} ({worstName}); last-epoch train loss Harness {harnessLast:F6} PyTorch {torchLastEpoch:F6}");
            Assert.That(worst, Is.LessThanOrEqualTo(1e-6), worstName);
            Assert.That(harnessLast, Is.EqualTo(torchLastEpoch).Within(1e-5));
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    private static ImageDataset RandomImages(int count, int seed)
    {
        var rng = new Random(seed);
        var pixels = new byte[count * 3 * 32 * 32];
        rng.NextBytes(pixels);
        var labels = Enumerable.Range(0, count).Select(_ => (byte)rng.Next(10)).ToArray();
        return new ImageDataset(pixels, labels, 32, 32, CifarClasses.Names, "random");
    }

    /// <summary>The batches PyTorch replays: the loader's own (unshuffled) batches, transformed by Harness, for
    /// every step of every epoch.</summary>
    private static void WriteBatches(ImageDataset data, string path)
    {
        using var batches = new StateDict();
        var loader = new BatchLoader(data, BatchSize, shuffle: false, new BatchTransform { ImageSize = 32, Precision = ScalarType.Float64 }, CPU);
        int k = 0;
        for (int epoch = 0; epoch < Epochs; epoch++)
            foreach (var batch in loader.Epoch(epoch))
                using (batch)
                {
                    batches.Add($"images_{k}", batch.Images.detach().clone());
                    batches.Add($"labels_{k}", batch.Labels.to(int64).clone());
                    k++;
                }
        TorchCheckpoint.Save(path, batches);
    }
}
