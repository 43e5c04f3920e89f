namespace Harness.Metrics;

/// <summary>The liveness analysis behind <see cref="ActivationMemory"/>.</summary>
internal static class ActivationLiveness
{
    public static ActivationMemory Analyse(ForwardTrace trace)
    {
        var tensors = trace.Tensors;
        int n = tensors.Count;
        var lastUse = new int[n];
        for (int i = 0; i < n; i++)
            lastUse[i] = tensors[i].Created;
        foreach (var call in trace.Calls)
        {
            lastUse[call.InputTensor] = Math.Max(lastUse[call.InputTensor], call.End);
            lastUse[call.OutputTensor] = Math.Max(lastUse[call.OutputTensor], call.End);
        }

        // Tensors first seen while another tensor with the same storage is live are views or in-place results
        // of it: one block of memory, live over the union of their intervals.
        var parent = Enumerable.Range(0, n).ToArray();
        int Find(int i) => parent[i] == i ? i : parent[i] = Find(parent[i]);
        var start = tensors.Select(t => t.Created).ToArray();
        var end = (int[])lastUse.Clone();
        var bytes = tensors.Select(t => t.Bytes).ToArray();
        var byStorage = new Dictionary<IntPtr, int>();
        foreach (var t in tensors.OrderBy(t => t.Created).ThenBy(t => t.Id))
        {
            if (t.Storage == IntPtr.Zero)
                continue;
            if (byStorage.TryGetValue(t.Storage, out int other))
            {
                int root = Find(other);
                if (start[root] <= t.Created && t.Created <= end[root])
                {
                    parent[t.Id] = root;
                    end[root] = Math.Max(end[root], lastUse[t.Id]);
                    bytes[root] = Math.Max(bytes[root], t.Bytes);
                    continue;
                }
            }
            byStorage[t.Storage] = t.Id;
        }

        var delta = new long[trace.Events + 1];
        for (int i = 0; i < n; i++)
        {
            if (Find(i) != i)
                continue;
            delta[start[i]] += bytes[i];
            delta[end[i] + 1] -= bytes[i];
        }

        long live = 0, peak = 0;
        int peakEvent = 0;
        for (int e = 0; e < trace.Events; e++)
        {
            live += delta[e];
            if (live > peak)
            {
                peak = live;
                peakEvent = e;
            }
        }

        var at = trace.Calls.FirstOrDefault(c => c.Start == peakEvent || c.End == peakEvent);
        string where = at is null ? "" : (at.Name.Length == 0 ? "(model)" : at.Name);
        long inputBytes = trace.Calls.Count == 0 ? 0 : tensors[trace.Calls[^1].InputTensor].Bytes;
        return new ActivationMemory(peak, where, inputBytes);
    }
}
