using TorchSharp;
using Harness.Data;
using static TorchSharp.torch;

namespace Harness.Training;

/// <summary>Test loss and accuracy over a data set: eval mode, no gradients, dispose scope per batch.</summary>
public static class Evaluator
{
    public static Evaluation Evaluate(nn.Module<Tensor, Tensor> model, BatchLoader loader)
    {
        bool wasTraining = model.training;
        model.eval();
        double lossSum = 0;
        long correct = 0;
        int count = 0;
        try
        {
            using var _ = no_grad();
            foreach (var batch in loader.Epoch(0))
            {
                using (batch)
                using (var scope = NewDisposeScope())
                {
                    var logits = model.call(batch.Images);
                    lossSum += nn.functional.cross_entropy(logits, batch.Labels, reduction: nn.Reduction.Sum).ToDouble();
                    correct += logits.argmax(1).eq(batch.Labels).sum().item<long>();
                    count += batch.Count;
                }
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return count == 0 ? new Evaluation(double.NaN, double.NaN, 0) : new Evaluation(lossSum / count, (double)correct / count, count);
    }
}
