using Harness.Data;
using Harness.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Training;

/// <summary>Test loss and accuracy over a data set: eval mode, no gradients, dispose
/// scope per batch; the network's forward lays the batches out in <see cref="Harness.Runtime.MemoryLayout"/>'s format.</summary>
public static class Evaluator
{
    public static Evaluation Evaluate(nn.Module<Tensor, Tensor> model, BatchLoader loader) => Run(model, loader, null).Overall;

    /// <summary><see cref="Evaluate"/> with the confusion matrix over <paramref name="classes"/> (the model's outputs,
    /// in order).</summary>
    public static ClassEvaluation EvaluateByClass(nn.Module<Tensor, Tensor> model, BatchLoader loader, IReadOnlyList<string> classes)
    {
        var (overall, counts) = Run(model, loader, classes.Count);
        var matrix = Enumerable.Range(0, classes.Count).Select(t => Enumerable.Range(0, classes.Count).Select(p => counts![t * classes.Count + p]).ToArray()).ToArray();
        return new ClassEvaluation(overall, classes, matrix);
    }

    private static (Evaluation Overall, long[]? Counts) Run(nn.Module<Tensor, Tensor> model, BatchLoader loader, int? classes)
    {
        bool wasTraining = model.training;
        model.eval();
        double lossSum = 0;
        long correct = 0;
        int count = 0;
        var counts = classes is int c ? new long[c * c] : null;
        try
        {
            using var _ = no_grad();
            using var bar = ProgressLine.Start("evaluating", loader.BatchesPerEpoch, "batches");
            foreach (var batch in loader.Epoch(0))
            {
                bar.Advance();
                using (batch)
                using (var scope = NewDisposeScope())
                {
                    var logits = model.call(batch.Images);
                    lossSum += nn.functional.cross_entropy(logits, batch.Labels, reduction: nn.Reduction.Sum).ToDouble();
                    var predicted = logits.argmax(1);
                    correct += predicted.eq(batch.Labels).sum().item<long>();
                    count += batch.Count;
                    if (counts is not null)
                    {
                        if (logits.shape[1] != classes)
                            throw new ArgumentException($"the model has {logits.shape[1]} outputs, the data {classes} classes");
                        var pairs = (batch.Labels.to(ScalarType.Int64) * classes!.Value + predicted).bincount(null, counts.Length).cpu();
                        var add = pairs.data<long>().ToArray();
                        for (int i = 0; i < counts.Length; i++) counts[i] += add[i];
                    }
                }
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        var overall = count == 0 ? new Evaluation(double.NaN, double.NaN, 0) : new Evaluation(lossSum / count, (double)correct / count, count);
        return (overall, counts);
    }
}
