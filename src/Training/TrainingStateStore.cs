using Harness.Model;
using Harness.Model.Networks;
using Harness.Storage.Checkpoints;
using Harness.Storage.Files;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Harness.Training;

/// <summary>
/// A run's resumable state, saved as one unit per epoch. The state after epoch N is the folder
/// <c>state-NNNN/</c> holding <c>model.pth</c>, <c>optimizer.pth</c> (momentum buffers), <c>best.pth</c> (the
/// best-validation model so far), <c>history.json</c> / <c>history.csv</c>, <c>progress.json</c> and, written last,
/// <c>manifest.json</c> (size and SHA-256 of each of those). It is assembled under a temporary name and renamed
/// into place once its manifest is written; only then are the best model and the history copied out to where
/// users read them, and the previous generation removed. A resume takes the newest generation whose manifest
/// verifies and copies the best model and history out again where they differ, so whatever moment a write was
/// killed at, it sees the complete state of epoch N or of N+1, never a mix. Temporaries of killed writes are removed
/// when the store is opened.
/// </summary>
/// <param name="run">The run whose state folder and best-model path the store owns.</param>
/// <param name="output">Where the store says what it resumes and removes.</param>
/// <param name="boundary">Called with a description at every write boundary (before and after each file write,
/// before each rename, after each rename); tests throw from it to simulate a crash at that point.</param>
internal sealed partial class TrainingStateStore(TrainingRun run, TextWriter output, Action<string>? boundary = null)
{
    public const string ModelFile = "model.pth";
    public const string OptimizerFile = "optimizer.pth";
    public const string BestFile = "best.pth";
    public const string ProgressFile = "progress.json";
    public const string ManifestFile = "manifest.json";
    private const string HistoryStem = "history";
    private static readonly string[] StateFiles = [ModelFile, OptimizerFile, BestFile, HistoryStem + ".json", HistoryStem + ".csv", ProgressFile];
    /// <summary>The separate files earlier versions wrote; they could hold two epochs at once.</summary>
    private static readonly string[] LegacyFiles = ["last_model.pth", "last_optimizer.pth", "last_state.json"];

    private sealed record FileEntry(string Name, long Bytes, string Sha256);
    private sealed record Manifest(int Epoch, List<FileEntry> Files);
    private sealed record ProgressRecord(int CompletedEpochs, double BestValidationAccuracy, int BestEpoch);

    private string? _current;
    private Manifest? _manifest;

    /// <summary>The model file of the newest complete generation (after <see cref="Open"/> found one).</summary>
    public string ModelStatePath => Path.Combine(Current, ModelFile);
    public string OptimizerStatePath => Path.Combine(Current, OptimizerFile);
    private string Current => _current ?? throw new InvalidOperationException("no saved training state is open");

    /// <summary>Removes temporaries of killed writes. For a resume, returns the progress of the newest complete
    /// generation (removing every other one) or null when there is none; a fresh start removes earlier state.</summary>
    public TrainingProgress? Open(bool resume)
    {
        RemoveTemporaries();
        var generations = Generations();
        if (!resume)
        {
            foreach (var (_, folder) in generations) Remove(folder);
            RemoveLegacy();
            return null;
        }
        TrainingProgress? progress = null;
        foreach (var (epoch, folder) in generations)
        {
            if (progress is null)
            {
                string? problem = Verify(folder, epoch, out var manifest);
                if (problem is null)
                {
                    progress = ReadProgress(folder, epoch);
                    (_current, _manifest) = (folder, manifest);
                    continue;
                }
                output.WriteLine($"{folder}: {problem}; this saved state is ignored and removed");
            }
            Remove(folder);
        }
        if (progress is null)
        {
            if (LegacyFiles.Any(f => File.Exists(Path.Combine(run.StateFolder, f))))
                throw new InvalidDataException(
                    $"{run.StateFolder}: holds training state in the old layout (last_state.json beside last_model.pth), which can mix two epochs and cannot be verified; remove that folder to start the run over");
            return null;
        }
        RemoveLegacy();
        Publish(reportRestored: true);
        return progress;
    }

    /// <summary>Saves the state after <see cref="TrainingProgress.CompletedEpochs"/> epochs as a new generation;
    /// <paramref name="improved"/> says the model is the new best one (else the previous best is kept).</summary>
    public void Save(IPrunableNetwork model, SgdMomentum sgd, TrainingProgress progress, bool improved)
    {
        string final = run.GenerationFolder(progress.CompletedEpochs);
        string staging = AtomicFile.TemporaryPathFor(final);
        string name = Path.GetFileName(final);
        Directory.CreateDirectory(staging);
        Stage(name, ModelFile, () => TorchCheckpoint.Save(Path.Combine(staging, ModelFile), model.Module));
        Stage(name, OptimizerFile, () =>
        {
            using var buffers = new StateDict();
            foreach (var (key, buf) in sgd.Buffers) buffers.Add(key, buf.detach().cpu().clone());
            TorchCheckpoint.Save(Path.Combine(staging, OptimizerFile), buffers);
        });
        Stage(name, BestFile, () =>
        {
            if (improved || _current is null) ModelLoader.Save(model, Path.Combine(staging, BestFile));
            else File.Copy(Path.Combine(_current, BestFile), Path.Combine(staging, BestFile));
        });
        Stage(name, HistoryStem + ".json/.csv", () => TrainingHistory.Save(Path.Combine(staging, HistoryStem), progress.History));
        Stage(name, ProgressFile, () => AtomicFile.WriteAllText(Path.Combine(staging, ProgressFile),
            HarnessJson.Serialize(new ProgressRecord(progress.CompletedEpochs, progress.BestValidationAccuracy, progress.BestEpoch))));

        var manifest = new Manifest(progress.CompletedEpochs, StateFiles.Select(f => Describe(staging, f)).ToList());
        Hit($"{name}: before writing {ManifestFile}");
        AtomicFile.Write(Path.Combine(staging, ManifestFile), s => JsonSerializer.Serialize(s, manifest, HarnessJson.Options),
            _ => Hit($"{name}: before renaming {ManifestFile} into place"));
        Hit($"{name}: after writing {ManifestFile}");

        Hit($"{name}: before renaming the folder into place");
        Directory.Move(staging, final);
        Hit($"{name}: after renaming the folder into place");

        (_current, _manifest) = (final, manifest);
        Publish(reportRestored: false);
        foreach (var (_, folder) in Generations().Where(g => g.Folder != final)) Remove(folder);
    }

    private void Stage(string generation, string file, Action write)
    {
        Hit($"{generation}: before writing {file}");
        write();
        Hit($"{generation}: after writing {file}");
    }

    /// <summary>Copies the best model and the history of the current generation to where users read them, where
    /// those copies are missing or differ.</summary>
    private void Publish(bool reportRestored)
    {
        CopyOut(BestFile, run.BestModelPath, reportRestored);
        CopyOut(HistoryStem + ".json", run.HistoryBase + ".json", reportRestored);
        CopyOut(HistoryStem + ".csv", run.HistoryBase + ".csv", reportRestored);
    }

    private void CopyOut(string file, string target, bool reportRestored)
    {
        var entry = _manifest!.Files.Single(f => f.Name == file);
        bool existed = File.Exists(target);
        if (existed && Sha256(target) == entry.Sha256) return;
        string source = Path.Combine(Current, file);
        Hit($"before copying {file} to {target}");
        AtomicFile.Write(target, s => { using var from = File.OpenRead(source); from.CopyTo(s); },
            _ => Hit($"before renaming the copy of {file} to {target}"));
        Hit($"after copying {file} to {target}");
        if (reportRestored)
            output.WriteLine($"{target} {(existed ? "did not match" : "was missing from")} the saved state; restored it from {source}");
    }

    /// <summary>Removes a generation: renamed to a temporary name first, so a folder named like a generation is
    /// never half deleted.</summary>
    private void Remove(string folder)
    {
        string doomed = AtomicFile.TemporaryPathFor(folder);
        Hit($"before removing {Path.GetFileName(folder)}");
        Directory.Move(folder, doomed);
        Hit($"after renaming {Path.GetFileName(folder)} for removal");
        Directory.Delete(doomed, recursive: true);
        Hit($"after removing {Path.GetFileName(folder)}");
    }

    private void RemoveTemporaries()
    {
        var stale = AtomicFile.DeleteStaleTemporaries(run.StateFolder)
            .Concat(AtomicFile.DeleteStaleTemporaries(Path.GetDirectoryName(Path.GetFullPath(run.BestModelPath))!, Path.GetFileName(run.BestModelPath)))
            .ToList();
        if (stale.Count > 0)
            output.WriteLine($"Removed {stale.Count} temporary file(s) left by interrupted writes: {string.Join(", ", stale.Select(Path.GetFileName))}");
    }

    private void RemoveLegacy()
    {
        foreach (var f in LegacyFiles)
            if (File.Exists(Path.Combine(run.StateFolder, f))) File.Delete(Path.Combine(run.StateFolder, f));
    }

    /// <summary>The generation folders, newest first.</summary>
    private List<(int Epoch, string Folder)> Generations()
    {
        if (!Directory.Exists(run.StateFolder)) return [];
        return Directory.EnumerateDirectories(run.StateFolder)
            .Select(d => (Match: GenerationName().Match(Path.GetFileName(d)), Folder: d))
            .Where(g => g.Match.Success)
            .Select(g => (int.Parse(g.Match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), g.Folder))
            .OrderByDescending(g => g.Item1)
            .ToList();
    }

    /// <summary>Null when the folder is a complete generation for <paramref name="epoch"/>, else what is wrong.</summary>
    private static string? Verify(string folder, int epoch, out Manifest? manifest)
    {
        manifest = null;
        string path = Path.Combine(folder, ManifestFile);
        if (!File.Exists(path)) return $"{ManifestFile} is missing";
        try
        {
            manifest = HarnessJson.Deserialize<Manifest>(File.ReadAllText(path));
        }
        catch (JsonException ex)
        {
            return $"{ManifestFile} is not valid ({ex.Message})";
        }
        if (manifest?.Files is null) return $"{ManifestFile} is empty";
        if (manifest.Epoch != epoch) return $"{ManifestFile} names epoch {manifest.Epoch}";
        var missing = StateFiles.Except(manifest.Files.Select(f => f.Name)).ToList();
        if (missing.Count > 0) return $"{ManifestFile} does not list {string.Join(", ", missing)}";
        foreach (var f in manifest.Files)
        {
            string file = Path.Combine(folder, f.Name);
            if (!File.Exists(file)) return $"{f.Name} is missing";
            long bytes = new FileInfo(file).Length;
            if (bytes != f.Bytes) return $"{f.Name} has {bytes} bytes, the manifest says {f.Bytes}";
            if (Sha256(file) != f.Sha256) return $"{f.Name} does not match its SHA-256 in the manifest";
        }
        return null;
    }

    private static TrainingProgress ReadProgress(string folder, int epoch)
    {
        string path = Path.Combine(folder, ProgressFile);
        var p = HarnessJson.Deserialize<ProgressRecord>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"{path}: empty training progress");
        if (p.CompletedEpochs != epoch)
            throw new InvalidDataException($"{path}: records {p.CompletedEpochs} completed epochs, its folder {epoch}");
        var history = TrainingHistory.Load(Path.Combine(folder, HistoryStem + ".json"));
        if (history.Count != epoch)
            throw new InvalidDataException($"{folder}: the history has {history.Count} epochs, expected {epoch}");
        return new TrainingProgress(p.CompletedEpochs, p.BestValidationAccuracy, p.BestEpoch, history);
    }

    private static FileEntry Describe(string folder, string file)
    {
        string path = Path.Combine(folder, file);
        return new FileEntry(file, new FileInfo(path).Length, Sha256(path));
    }

    private static string Sha256(string path)
    {
        using var fs = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    private void Hit(string point) => boundary?.Invoke(point);

    [GeneratedRegex(@"^state-(\d{4,})$")]
    private static partial Regex GenerationName();
}
