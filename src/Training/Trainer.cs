using Harness.Data;
using Harness.Model.Networks;
using Harness.Runtime;
using Harness.Storage.Checkpoints;
using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Training;

/// <summary>
/// The study's fine-tuning loop. After every epoch it saves the run's state as one unit (model, momentum buffers,
/// best-validation model, epoch, best accuracy, history; see <see cref="TrainingRun.GenerationFolder"/>), then copies
/// the best model and the history out to <see cref="TrainingRun.BestModelPath"/> and <see cref="TrainingRun.HistoryBase"/>.
/// The learning rate (StepLR) is a function of the epoch, the data order a function of (seed, epoch), and torch's
/// RNG is re-seeded from (seed, epoch) at the start of each epoch, so a resumed run continues exactly as an
/// uninterrupted one. An interrupted (or killed) run loses at most the current epoch: a resume reads the complete
/// state of the last saved epoch, never parts of two.
/// </summary>
public sealed class Trainer(TrainingOptions options, TextWriter output)
{
    public TrainingOptions Options { get; } = options;

    /// <summary>Called at every write boundary of the state (see <see cref="TrainingStateStore"/>); tests throw
    /// from it to simulate a crash there.</summary>
    internal Action<string>? WriteBoundary { get; init; }

    /// <summary>Called after every training step with the number of steps this call has taken so far (benchmarks sample
    /// resident memory from it).</summary>
    public Action<int>? AfterStep { get; init; }

    /// <summary>What each step minimises (cross-entropy unless distillation or the BatchNorm L1 term is asked for).</summary>
    public TrainingObjective Objective { get; init; } = TrainingObjective.CrossEntropy;

    /// <summary>Freezes <see cref="TrainingOptions.FrozenStages"/> and returns the trainable parameters by name.</summary>
    public static List<(string Name, Tensor Parameter)> Freeze(IPrunableNetwork model, IReadOnlyList<int> frozenStages)
    {
        var stages = model.Stages;
        var unknown = frozenStages.Where(s => s < 0 || s >= stages.Count).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"--freeze: {model.Architecture} has stages 0–{stages.Count - 1}, not {string.Join(", ", unknown)}");
        var prefixes = frozenStages.SelectMany(s => stages[s]).Select(p => p + ".").ToList();
        var trainable = new List<(string, Tensor)>();
        foreach (var (name, p) in model.Module.named_parameters())
        {
            bool frozen = prefixes.Any(name.StartsWith);
            p.requires_grad = !frozen;
            if (!frozen) trainable.Add((name, p));
        }
        return trainable;
    }

    public TrainingResult Train(IPrunableNetwork network, BatchLoader train, BatchLoader validation, TrainingRun run,
        bool resume = false, CancellationToken cancel = default, int? maxStepsPerEpoch = null)
    {
        Options.Validate();
        Objective.Validate();
        var model = network.Module;
        var parameters = Freeze(network, Options.FrozenStages);
        using var sgd = new SgdMomentum(parameters, Options.Momentum, Options.WeightDecay);
        var store = new TrainingStateStore(run, output, WriteBoundary);
        var progress = store.Open(resume) ?? TrainingProgress.Start;
        if (progress.CompletedEpochs > 0)
        {
            using (var sd = TorchCheckpoint.Load(store.ModelStatePath))
                StateDictLoader.Load(model, sd, strict: true, store.ModelStatePath);
            using (var opt = TorchCheckpoint.Load(store.OptimizerStatePath))
                sgd.LoadBuffers(opt.Items.Select(kv => (kv.Key, kv.Value)));
            output.WriteLine($"Resuming {run.Name} after epoch {progress.CompletedEpochs}/{Options.Epochs} (best Val Acc so far: {100 * progress.BestValidationAccuracy:F2}%)");
        }
        int taken = 0;
        for (int epoch = progress.CompletedEpochs; epoch < Options.Epochs; epoch++)
        {
            if (cancel.IsCancellationRequested) return new TrainingResult(progress.History, progress.BestValidationAccuracy, true);
            manual_seed((long)(Options.Seed * 1000 + (ulong)epoch));
            sgd.LearningRate = Options.LearningRateAt(epoch);
            output.WriteLine($"Epoch {epoch + 1}/{Options.Epochs}");
            var sw = Stopwatch.StartNew();
            model.train();
            double lossSum = 0;
            long correct = 0, seen = 0;
            int step = 0, steps = maxStepsPerEpoch is int m ? Math.Min(m, train.BatchesPerEpoch) : train.BatchesPerEpoch;
            using var bar = ProgressLine.Start($"epoch {epoch + 1}/{Options.Epochs}", steps, "batches");
            foreach (var batch in train.Epoch(epoch))
            {
                using (batch)
                using (var scope = NewDisposeScope())
                {
                    if (cancel.IsCancellationRequested) break;
                    sgd.ZeroGrad();
                    var logits = model.call(batch.Images);
                    var loss = Objective.Loss(model, batch.Images, logits, batch.Labels);
                    double value = loss.ToDouble();
                    if (!double.IsFinite(value))
                        throw new TrainingDivergedException(
                            $"training {run.Name} diverged: the loss is {value} at epoch {epoch + 1}, batch {step + 1} (learning rate {sgd.LearningRate}); " +
                            $"stopped before that step, {(progress.CompletedEpochs == 0 ? "no epoch was completed" : $"the state after epoch {progress.CompletedEpochs} is kept in {run.StateFolder}")} (try a lower --lr)");
                    loss.backward();
                    sgd.Step();
                    lossSum += value * batch.Count;
                    correct += logits.argmax(1).eq(batch.Labels).sum().item<long>();
                    seen += batch.Count;
                }
                bar.Advance();
                ++step;
                AfterStep?.Invoke(++taken);
                if (step >= steps) break;
            }
            if (cancel.IsCancellationRequested)
            {
                output.WriteLine($"Interrupted during epoch {epoch + 1}; the state after epoch {epoch} is kept in {run.StateFolder}");
                return new TrainingResult(progress.History, progress.BestValidationAccuracy, true);
            }
            double trainLoss = lossSum / Math.Max(1, seen), trainAcc = (double)correct / Math.Max(1, seen);
            double seconds = sw.Elapsed.TotalSeconds;
            output.WriteLine($"Train Loss: {trainLoss:F4} | Train Acc: {100 * trainAcc:F2}% | Time: {seconds:F2}s");
            var val = Evaluator.Evaluate(model, validation);
            output.WriteLine($"Val Loss: {val.Loss:F4} | Val Acc: {100 * val.Accuracy:F2}%");
            if (val.Count > 0 && !double.IsFinite(val.Loss))
                throw new TrainingDivergedException(
                    $"training {run.Name} diverged: the validation loss is {val.Loss} after epoch {epoch + 1} (learning rate {sgd.LearningRate}); " +
                    $"nothing of that epoch was saved{(progress.CompletedEpochs == 0 ? "" : $", the state after epoch {progress.CompletedEpochs} is kept in {run.StateFolder}")} (try a lower --lr)");
            var history = progress.History.Append(new EpochRecord(epoch + 1, trainLoss, trainAcc, val.Loss, val.Accuracy, sgd.LearningRate, seconds)).ToList();
            bool improved = val.Accuracy > progress.BestValidationAccuracy;
            progress = improved
                ? new TrainingProgress(epoch + 1, val.Accuracy, epoch + 1, history)
                : progress with { CompletedEpochs = epoch + 1, History = history };
            store.Save(network, sgd, progress, improved);
            NativeMemory.Release(); // the save's buffers and the epoch's freed native pages go back to the system
            output.WriteLine(improved ? $"Best model saved with Val Acc: {100 * val.Accuracy:F2}%" : "No improvement this epoch.");
        }
        return new TrainingResult(progress.History, progress.BestValidationAccuracy, false);
    }
}
