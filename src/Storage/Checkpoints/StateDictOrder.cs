using static TorchSharp.torch;

namespace Harness.Storage.Checkpoints;

/// <summary>
/// The state dict in PyTorch's order: for each module, its own parameters, then its own persistent buffers,
/// then its children in registration order (TorchSharp lists all parameters before all buffers).
/// </summary>
public static class StateDictOrder
{
    public static List<KeyValuePair<string, Tensor>> Ordered(nn.Module module)
    {
        var all = module.state_dict();
        var result = new List<KeyValuePair<string, Tensor>>(all.Count);
        Visit(module, "", all, result);
        if (result.Count != all.Count)
        {
            var seen = result.Select(r => r.Key).ToHashSet();
            result.AddRange(all.Where(kv => !seen.Contains(kv.Key)));
        }
        return result;
    }

    private static void Visit(nn.Module module, string prefix, IReadOnlyDictionary<string, Tensor> all,
        List<KeyValuePair<string, Tensor>> result)
    {
        foreach (var (name, _) in module.named_parameters(recurse: false))
            Take(prefix + name);
        foreach (var (name, _) in module.named_buffers(recurse: false))
            Take(prefix + name);
        foreach (var (name, child) in module.named_children())
            Visit(child, prefix + name + ".", all, result);

        void Take(string key)
        {
            if (all.TryGetValue(key, out var t)) result.Add(new(key, t));
        }
    }
}
