using static TorchSharp.torch;

namespace Harness.Storage.Checkpoints;

/// <summary>Copies a state dict into a module by name. Strict mode checks everything first and reports every
/// missing, unexpected and mis-shaped key in one <see cref="CheckpointMismatchException"/>; nothing is copied then.</summary>
public static class StateDictLoader
{
    public static void Load(nn.Module module, StateDict source, bool strict = true, string sourceName = "checkpoint")
    {
        var target = module.state_dict();
        var missing = target.Keys.Where(k => !source.ContainsKey(k)).ToList();
        var unexpected = source.Keys.Where(k => !target.ContainsKey(k)).ToList();
        var shapes = source.Items.Where(kv => target.ContainsKey(kv.Key)
                                              && !target[kv.Key].shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key}: model [{string.Join(", ", target[kv.Key].shape)}], checkpoint [{string.Join(", ", kv.Value.shape)}]")
            .ToList();
        if (shapes.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new CheckpointMismatchException(sourceName, missing, strict ? unexpected : [], shapes);
        using (no_grad())
        {
            foreach (var (key, value) in source.Items)
            {
                if (!target.TryGetValue(key, out var t)) continue;
                t.copy_(value.to(t.dtype, t.device));
            }
        }
    }
}
