using Harness.Cli.Commands;
using Harness.Model.Families;
using Harness.Storage.Checkpoints;
using Harness.Tests.TestSupport;
using Harness.Training;
using static Harness.Tests.Unit.Training.TinyTraining;

namespace Harness.Tests.Unit.Training;

public class SeededInitialisationTests : TempDirectoryTest
{
    private TrainingResult TrainFromRandomInit(ulong seed, string name, out EfficientNet model)
    {
        model = EfficientNets.Create(Config(), seed);
        var options = new TrainingOptions { Epochs = 2, StepSize = 1, FrozenStages = [], ImageSize = 32, Seed = seed };
        return new Trainer(options, TextWriter.Null)
            .Train(model, Loader(Synthetic(32, 2), true), Loader(Synthetic(16, 3), false), TrainingRun.For(name, Dir));
    }

    [TestCase(1)]
    [TestCase(2)]
    public void TrainingFromRandomInitialisationIsAFunctionOfTheSeed(int threads)
    {
        using var _ = Threads(threads);
        var first = TrainFromRandomInit(7, "first", out var a);
        var second = TrainFromRandomInit(7, "second", out var b);
        using (a)
        using (b)
        {
            AssertSameWeights(a, b, $"{threads} thread(s)");
            Assert.That(Untimed(second.History), Is.EqualTo(Untimed(first.History)));
            AssertSameCheckpoint(TrainingRun.For("first", Dir).BestModelPath, TrainingRun.For("second", Dir).BestModelPath, "best model");
        }
    }

    [Test]
    public void DifferentSeedsGiveDifferentInitialWeights()
    {
        using var a = EfficientNets.Create(Config(), 1);
        using var b = EfficientNets.Create(Config(), 2);
        using var again = EfficientNets.Create(Config(), 1);
        AssertSameWeights(a, again, "seed 1 twice");
        var bWeights = b.state_dict();
        var differing = a.state_dict().Where(kv => kv.Key.EndsWith(".weight") && kv.Value.dim() > 1 && !TensorAssert.Identical(kv.Value, bWeights[kv.Key])).ToList();
        var randomlyInitialised = a.state_dict().Where(kv => kv.Key.EndsWith(".weight") && kv.Value.dim() > 1).ToList();
        Assert.That(differing.Select(kv => kv.Key), Is.EquivalentTo(randomlyInitialised.Select(kv => kv.Key)), "every conv and linear weight depends on the seed");
    }

    [Test]
    public void WeightsNoneAndTheNewImageNetHeadFollowTheSeed()
    {
        using (var a = EfficientNets.Load("none", 10, seed: 3))
        using (var b = EfficientNets.Load("none", 10, seed: 3))
            AssertSameWeights(a, b, "--weights none");

        var cache = Path.Combine(Dir, "hub");
        Directory.CreateDirectory(cache);
        using (var imagenet = EfficientNets.Create(EfficientNetConfig.B0(1000), 99))
            TorchCheckpoint.Save(Path.Combine(cache, WeightsResolver.ImageNetFileName), imagenet);
        var resolver = new WeightsResolver { CacheDirectory = cache };
        using var c = EfficientNets.Load("imagenet", 10, resolver, seed: 5);
        using var d = EfficientNets.Load("imagenet", 10, resolver, seed: 5);
        using var e = EfficientNets.Load("imagenet", 10, resolver, seed: 6);
        AssertSameWeights(c, d, "imagenet with a new head");
        Assert.That(TensorAssert.Identical(c.Classifier.Weight, e.Classifier.Weight), Is.False, "another seed, another head");
    }

    [Test]
    public void TwoTrainCommandsFromRandomInitWithOneSeedWriteTheSameBestModel()
    {
        using var _ = Threads(1);
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 8, 10);
        string[] Args(string name) =>
        [
            "train", "--data", data, "--weights", "none", "--seed", "5", "--epochs", "1", "--image-size", "32", "--batch-size", "16",
            "--train-subset", "16", "--val-subset", "8", "--freeze", "none", "--name", name, "--out", Dir,
        ];
        var first = HarnessCli.Run(TrainCommand.Create(), Args("first"));
        var second = HarnessCli.Run(TrainCommand.Create(), Args("second"));
        Assert.That((first.Code, second.Code), Is.EqualTo((0, 0)), first.Err + second.Err);
        AssertSameCheckpoint(TrainingRun.For("first", Dir).BestModelPath, TrainingRun.For("second", Dir).BestModelPath, "train --weights none --seed 5");
    }
}
