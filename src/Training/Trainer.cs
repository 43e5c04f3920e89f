using TorchSharp;
using System.Diagnostics;
using System.Text.Json;
using Harness.Data;
using Harness.Model;
using Harness.Model.Checkpoints;
using static TorchSharp.torch;

namespace Harness.Training;

/// <summary>
/// The study's fine-tuning loop. After every epoch it writes (atomically) the best-validation model and a resumable
/// state (model, momentum buffers, epoch, best accuracy, history); the learning rate (StepLR) is a function of the
/// epoch, the data order a function of (seed, epoch), and torch's RNG is re-seeded from (seed, epoch) at the start
/// of each epoch, so a resumed run continues exactly as an uninterrupted one. An interrupted run loses at most the
/// current epoch.
/// </summary>
public sealed class Trainer(TrainingOptions options, TextWriter output)
{
    private sealed record Progress(int CompletedEpochs, double BestValidationAccuracy, List<EpochRecord> History);

    public TrainingOptions Options { get; } = options;

    /// <summary>Freezes <see cref="TrainingOptions.FrozenStages"/> and returns the trainable parameters by name.</summary>
    public static List<(string Name, Tensor Parameter)> Freeze(EfficientNet model, IReadOnlyList<int> frozenStages)
    {
        var prefixes = frozenStages.Select(s => $"features.{s}.").ToList();
        var trainable = new List<(string, Tensor)>();
        foreach (var (name, p) in model.named_parameters())
        {
            bool frozen = prefixes.Any(name.StartsWith);
            p.requires_grad = !frozen;
            if (!frozen) trainable.Add((name, p));
        }
        return trainable;
    }

    public TrainingResult Train(EfficientNet model, BatchLoader train, BatchLoader validation, TrainingRun run,
        bool resume = false, CancellationToken cancel = default, int? maxStepsPerEpoch = null)
    {
        Options.Validate();
        var parameters = Freeze(model, Options.FrozenStages);
        using var sgd = new SgdMomentum(parameters, Options.Momentum, Options.WeightDecay);
        var progress = new Progress(0, double.NegativeInfinity, []);
        if (resume && File.Exists(run.ProgressPath))
        {
            progress = JsonSerializer.Deserialize<Progress>(File.ReadAllText(run.ProgressPath))
                       ?? throw new InvalidDataException($"{run.ProgressPath}: empty training state");
            using (var sd = TorchCheckpoint.Load(run.ModelStatePath))
                StateDictLoader.Load(model, sd, strict: true, run.ModelStatePath);
            using (var opt = TorchCheckpoint.Load(run.OptimizerStatePath))
                sgd.LoadBuffers(opt.Items.Select(kv => (kv.Key, kv.Value)));
            output.WriteLine($"Resuming {run.Name} after epoch {progress.CompletedEpochs}/{Options.Epochs} (best Val Acc so far: {100 * progress.BestValidationAccuracy:F2}%)");
        }
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
            var bar = new ProgressLine(output, steps);
            foreach (var batch in train.Epoch(epoch))
            {
                using (batch)
                using (var scope = NewDisposeScope())
                {
                    if (cancel.IsCancellationRequested) break;
                    sgd.ZeroGrad();
                    var logits = model.call(batch.Images);
                    var loss = nn.functional.cross_entropy(logits, batch.Labels);
                    loss.backward();
                    sgd.Step();
                    lossSum += loss.ToDouble() * batch.Count;
                    correct += logits.argmax(1).eq(batch.Labels).sum().item<long>();
                    seen += batch.Count;
                }
                bar.Report(++step, seen, sw.Elapsed);
                if (step >= steps) break;
            }
            bar.Done();
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
            var history = progress.History.Append(new EpochRecord(epoch + 1, trainLoss, trainAcc, val.Loss, val.Accuracy, sgd.LearningRate, seconds)).ToList();
            double best = progress.BestValidationAccuracy;
            if (val.Accuracy > best)
            {
                best = val.Accuracy;
                ModelLoader.Save(model, run.BestModelPath);
                output.WriteLine($"Best model saved with Val Acc: {100 * best:F2}%");
            }
            else output.WriteLine("No improvement this epoch.");
            progress = new Progress(epoch + 1, best, history);
            SaveState(model, sgd, run, progress);
        }
        return new TrainingResult(progress.History, progress.BestValidationAccuracy, false);
    }

    private static void SaveState(EfficientNet model, SgdMomentum sgd, TrainingRun run, Progress progress)
    {
        Directory.CreateDirectory(run.StateFolder);
        TorchCheckpoint.Save(run.ModelStatePath, model);
        using (var buffers = new StateDict())
        {
            foreach (var (name, buf) in sgd.Buffers) buffers.Add(name, buf.detach().cpu().clone());
            TorchCheckpoint.Save(run.OptimizerStatePath, buffers);
        }
        TrainingHistory.Save(run.HistoryBase, progress.History);
        // The JSON state is written last: it names the epoch the two files above belong to.
        AtomicFile.WriteAllText(run.ProgressPath, JsonSerializer.Serialize(progress));
    }
}
