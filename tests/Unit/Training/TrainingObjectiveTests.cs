using Harness.Cli.Commands;
using Harness.Model;
using Harness.Model.Layers;
using Harness.Tests.TestSupport;
using Harness.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Training;

/// <summary>The training objective's terms against values worked out by hand: Hinton et al.'s distillation loss and
/// network slimming's BatchNorm-scale L1 term.</summary>
public class TrainingObjectiveTests : TempDirectoryTest
{
    private static double[] Softmax(double[] z, double t)
    {
        var e = z.Select(v => Math.Exp(v / t)).ToArray();
        return e.Select(v => v / e.Sum()).ToArray();
    }

    [Test]
    public void DistillationLossIsAlphaTSquaredKlPlusTheRestCrossEntropy()
    {
        // The teacher is a fixed linear map of 2 features to 3 classes; the student's logits are given.
        using var teacher = new PrunableLinear(2, 3, bias: false);
        using (no_grad()) teacher.Weight.copy_(tensor(new float[] { 1, 0, 0, 1, 0.5f, -0.5f }).reshape(3, 2));
        var x = new[] { new[] { 2.0, 1.0 }, new[] { -1.0, 3.0 } };
        var s = new[] { new[] { 0.3, -0.2, 1.1 }, new[] { 2.0, 0.1, -0.7 } };
        long[] y = [2, 0];
        const double T = 2.0, A = 0.7;
        double kl = 0, ce = 0;
        for (int b = 0; b < 2; b++)
        {
            var t = new[] { x[b][0], x[b][1], 0.5 * x[b][0] - 0.5 * x[b][1] };
            var pt = Softmax(t, T);
            var ps = Softmax(s[b], T);
            kl += Enumerable.Range(0, 3).Sum(c => pt[c] * Math.Log(pt[c] / ps[c]));
            ce += -Math.Log(Softmax(s[b], 1)[y[b]]);
        }
        double expected = A * T * T * kl / 2 + (1 - A) * ce / 2;

        var objective = new TrainingObjective { Teacher = teacher, Temperature = T, Alpha = A };
        using var images = tensor(x.SelectMany(r => r.Select(v => (float)v)).ToArray()).reshape(2, 2);
        using var logits = tensor(s.SelectMany(r => r.Select(v => (float)v)).ToArray()).reshape(2, 3);
        using var labels = tensor(y);
        using var loss = objective.Loss(teacher, images, logits, labels);
        Assert.That(loss.item<float>(), Is.EqualTo(expected).Within(1e-5));
        Assert.That(teacher.Weight.grad, Is.Null, "the teacher gets no gradients");
    }

    [Test]
    public void BatchNormL1AddsLambdaTimesTheSignOfEachScaleToItsGradient()
    {
        using var model = ModelLoader.LoadNetwork("none", "resnet18");
        var bns = model.Module.modules().OfType<BatchNorm2d>().ToList();
        using (no_grad())
            for (int i = 0; i < bns.Count; i++)
                bns[i].weight!.copy_(bns[i].weight! * (i % 3 == 0 ? -0.5 : 1.5)); // some negative scales
        manual_seed(3);
        using var images = randn(2, 3, 32, 32);
        using var labels = tensor(new long[] { 1, 7 });
        Tensor[] Gradients(double lambda)
        {
            model.Module.zero_grad();
            using (var logits = model.Module.call(images))
            using (var loss = new TrainingObjective { BatchNormL1 = lambda }.Loss(model.Module, images, logits, labels))
                loss.backward();
            return bns.Select(b => b.weight!.grad!.clone()).ToArray();
        }
        model.Module.eval(); // fixed statistics: both passes see the same function
        var task = Gradients(0);
        const double lambda = 1e-3;
        var total = Gradients(lambda);
        for (int i = 0; i < bns.Count; i++)
        {
            using var expected = task[i] + lambda * bns[i].weight!.detach().sign();
            Assert.That(allclose(total[i], expected, rtol: 0, atol: 1e-7), Is.True, $"BatchNorm {i}");
        }
    }

    [Test]
    public void TrainTakesATeacherAndRefusesBadDistillationSettings()
    {
        string data = SyntheticCifar.WriteBinary(Path.Combine(Dir, "data"), 8, 8);
        string teacher = Path.Combine(Dir, "teacher.pth");
        using (var t = ModelLoader.LoadNetwork("none", "resnet18")) ModelLoader.Save(t, teacher);
        var (code, _, error) = HarnessCli.Run(TrainCommand.Create(), "train", "--arch", "resnet18", "--data", data, "--image-size", "32", "--batch-size", "8",
            "--epochs", "1", "--teacher", teacher, "--kd-alpha", "1.5", "--out", Path.Combine(Dir, "bad"));
        Assert.That((code, error.Trim()), Is.EqualTo((2, "error: --kd-alpha must lie in [0, 1] (got 1.5)")));
        (code, var output, error) = HarnessCli.Run(TrainCommand.Create(), "train", "--arch", "resnet18", "--data", data, "--image-size", "32", "--batch-size", "8",
            "--epochs", "1", "--teacher", teacher, "--kd-temperature", "3", "--bn-l1", "1e-4", "--out", Path.Combine(Dir, "kd"));
        Assert.That(code, Is.EqualTo(0), error);
        string manifest = File.ReadAllText(Path.Combine(Dir, "kd", "runs", "resnet18_base", "manifest.json"));
        Assert.That(manifest, Does.Contain("\"kd_temperature\": \"3\"").And.Contain("\"bn_l1\": \"0.0001\"").And.Contain("teacher_sha256"));
    }
}
