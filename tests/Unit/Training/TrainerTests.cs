using Harness.Data;
using Harness.Model.Families;
using Harness.Tests.TestSupport;
using Harness.Training;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Training;

public class TrainerTests : TempDirectoryTest
{
    private static ImageDataset Synthetic(int n, int seed) => TinyTraining.Synthetic(n, seed);
    private static EfficientNet Tiny(int classes = 4) => TinyTraining.TinyModel(classes);
    private static BatchLoader Loader(ImageDataset d, bool train, int batch = 16) => TinyTraining.Loader(d, train, batch);

    [Test]
    public void TinyModelOverfitsAFixedBatch()
    {
        using var model = Tiny();
        var data = Synthetic(16, 1);
        var parameters = Trainer.Freeze(model, []);
        using var sgd = new SgdMomentum(parameters, 0.9, 0) { LearningRate = 0.05 };
        var loader = Loader(data, train: false, batch: 16);
        using var batch = loader.Epoch(0).Single();
        model.train();
        double first = 0, last = 0;
        for (int step = 0; step < 60; step++)
        {
            using var scope = NewDisposeScope();
            sgd.ZeroGrad();
            var loss = nn.functional.cross_entropy(model.call(batch.Images), batch.Labels);
            loss.backward();
            sgd.Step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.That(last, Is.LessThan(first / 10), $"loss {first:F3} → {last:F3}");
    }

    [Test]
    public void ResumingGivesTheSameWeightsAsAnUninterruptedRun()
    {
        int threads = get_num_threads();
        set_num_threads(1);
        try
        {
            var train = Synthetic(48, 2);
            var val = Synthetic(16, 3);
            var options = new TrainingOptions { Epochs = 3, StepSize = 2, FrozenStages = [0], ImageSize = 32 };

            using var straight = Tiny();
            new Trainer(options, TextWriter.Null).Train(straight, Loader(train, true), Loader(val, false), TrainingRun.For("a", Dir));

            using var first = Tiny();
            new Trainer(options with { Epochs = 2 }, TextWriter.Null).Train(first, Loader(train, true), Loader(val, false), TrainingRun.For("b", Dir));
            using var resumed = Tiny();
            var log = new StringWriter();
            var result = new Trainer(options, log).Train(resumed, Loader(train, true), Loader(val, false), TrainingRun.For("b", Dir), resume: true);
            Assert.That(log.ToString(), Does.Contain("Resuming b after epoch 2/3"));
            Assert.That(result.History, Has.Count.EqualTo(3));
            var a = straight.state_dict();
            foreach (var (k, v) in resumed.state_dict())
                Assert.That(TensorAssert.Identical(v, a[k]), Is.True, k);
        }
        finally { set_num_threads(threads); }
    }

    [Test]
    public void FrozenStagesDoNotChangeAndEpochLinesFollowTheStudy()
    {
        using var model = Tiny();
        var before = model.state_dict().Where(kv => kv.Key.StartsWith("features.0.") && !kv.Key.Contains("running") && !kv.Key.Contains("num_batches"))
            .ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var log = new StringWriter();
        var run = TrainingRun.For("frozen", Dir);
        var options = new TrainingOptions { Epochs = 2, FrozenStages = [0, 1], ImageSize = 32 };
        var result = new Trainer(options, log).Train(model, Loader(Synthetic(32, 4), true), Loader(Synthetic(16, 5), false), run);
        foreach (var (k, v) in before) Assert.That(TensorAssert.Identical(v, model.state_dict()[k]), Is.True, k);
        Assert.That(Trainer.Freeze(model, [0, 1]).Any(p => p.Name.StartsWith("features.1.")), Is.False);
        string text = log.ToString();
        Assert.That(text, Does.Match(@"Epoch 1/2\s+(.*\n)*Train Loss: \d+\.\d{4} \| Train Acc: \d+\.\d{2}% \| Time: \d+\.\d{2}s"));
        Assert.That(text, Does.Match(@"Val Loss: \d+\.\d{4} \| Val Acc: \d+\.\d{2}%"));
        Assert.That(text, Does.Contain("Best model saved with Val Acc:"));
        Assert.That(File.Exists(run.BestModelPath));
        Assert.That(TrainingHistory.Load(run.HistoryBase + ".json"), Has.Count.EqualTo(2));
        Assert.That(File.ReadAllLines(run.HistoryBase + ".csv"), Has.Length.EqualTo(3));
        Assert.That(result.History[1].LearningRate, Is.EqualTo(0.01).Within(1e-12));
    }

    [Test]
    public void EvaluateCountsCorrectPredictions()
    {
        using var model = Tiny();
        var data = Synthetic(20, 6);
        var eval = Evaluator.Evaluate(model, Loader(data, false, 8));
        model.eval();
        using var _ = no_grad();
        long correct = 0;
        foreach (var b in Loader(data, false, 8).Epoch(0)) using (b) correct += model.call(b.Images).argmax(1).eq(b.Labels).sum().item<long>();
        Assert.That(eval.Count, Is.EqualTo(20));
        Assert.That(eval.Accuracy, Is.EqualTo(correct / 20.0).Within(1e-12));
        Assert.That(eval.Loss, Is.GreaterThan(0));
    }

    [Test]
    public void StepLrFollowsTheStudy()
    {
        var o = new TrainingOptions();
        Assert.That(Enumerable.Range(0, 11).Select(o.LearningRateAt), Is.EqualTo(new[] { 0.01, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 0.001, 0.001, 0.0001 }).Within(1e-15));
    }
}
