using static TorchSharp.torch;

namespace Harness.Metrics;

/// <summary>
/// The record of one forward pass taken with forward pre- and post-hooks on every module: each module call with
/// the event numbers of its start and end and the tensors it took and returned, and each distinct tensor object
/// with the event at which it was first seen, its bytes and its storage address.
/// Events are numbered 0, 1, 2… in the order hooks fire.
/// </summary>
internal sealed class ForwardTrace
{
    internal sealed record Call(string Name, nn.Module Module, LayerDescriptor? Descriptor, int Start, int End,
        int InputTensor, int OutputTensor, long[] InputShape, long[] OutputShape);

    internal sealed record TracedTensor(int Id, long Bytes, int Created, IntPtr Storage);

    private readonly Dictionary<Tensor, int> _ids = new(ReferenceEqualityComparer.Instance);
    private readonly List<TracedTensor> _tensors = [];
    private readonly List<Call> _calls = [];

    public IReadOnlyList<Call> Calls => _calls;
    public IReadOnlyList<TracedTensor> Tensors => _tensors;
    public int Events { get; private set; }

    /// <summary>Runs <paramref name="model"/> once on <paramref name="input"/> with hooks on every module
    /// (itself included) and records the pass. The caller sets eval mode / no_grad.</summary>
    public static ForwardTrace Record(nn.Module<Tensor, Tensor> model, Tensor input)
    {
        var trace = new ForwardTrace();
        var modules = new List<(string Name, nn.Module Module, bool IsLeaf)>();
        Walk("", model, modules);

        var descriptors = new Dictionary<nn.Module, LayerDescriptor?>(ReferenceEqualityComparer.Instance);
        foreach (var (name, module, isLeaf) in modules)
            descriptors[module] = LayerClassifier.Describe(name.Length == 0 ? "(model)" : name, module, isLeaf);

        var frames = new Stack<(string Name, nn.Module Module, int Start, int Input, long[] Shape)>();
        var removers = new List<Action>();
        try
        {
            foreach (var (name, module, _) in modules)
            {
                if (module is not nn.Module<Tensor, Tensor> hookable)
                {
                    if (descriptors[module] is { Kind: not LayerKind.Free })
                        throw new NotSupportedException(
                            $"module '{name}' ({module.GetType().Name}) is counted but does not take and return " +
                            "one tensor, so it cannot be hooked");
                    continue;
                }

                var pre = hookable.register_forward_pre_hook((m, x) =>
                {
                    int id = trace.IdOf(x, trace.Events);
                    frames.Push((name, module, trace.Events, id, x.shape));
                    trace.Events++;
                    return x;
                });
                var post = hookable.register_forward_hook((m, x, y) =>
                {
                    var frame = frames.Pop();
                    if (!ReferenceEquals(frame.Module, module))
                        throw new InvalidOperationException(
                            $"forward hooks of '{name}' and '{frame.Name}' interleave: a module ran outside call()");
                    int output = trace.IdOf(y, trace.Events);
                    trace._calls.Add(new Call(name, module, descriptors[module], frame.Start, trace.Events,
                        frame.Input, output, frame.Shape, y.shape));
                    trace.Events++;
                    return y;
                });
                removers.Add(pre.remove);
                removers.Add(post.remove);
            }

            using var output = model.call(input);
        }
        finally
        {
            foreach (var remove in removers)
                remove();
        }

        var seen = trace._calls.Select(c => c.Module).ToHashSet(ReferenceEqualityComparer.Instance);
        foreach (var (name, module, _) in modules)
        {
            if (descriptors[module] is { Kind: not LayerKind.Free } && !seen.Contains(module))
                throw new InvalidOperationException(
                    $"module '{name}' ({module.GetType().Name}) never ran through call() in the counting pass, so " +
                    "its cost is unknown (a parent must invoke children with call(), not forward())");
        }
        return trace;
    }

    private static void Walk(string prefix, nn.Module module, List<(string, nn.Module, bool)> into)
    {
        var children = module.named_children().ToList();
        into.Add((prefix, module, children.Count == 0));
        foreach (var (childName, child) in children)
            Walk(prefix.Length == 0 ? childName : $"{prefix}.{childName}", child, into);
    }

    private int IdOf(Tensor tensor, int eventIndex)
    {
        if (_ids.TryGetValue(tensor, out int id))
            return id;
        id = _tensors.Count;
        _ids[tensor] = id;
        _tensors.Add(new TracedTensor(id, tensor.numel() * tensor.ElementSize, eventIndex, StorageAddress(tensor)));
        return id;
    }

    private static IntPtr StorageAddress(Tensor tensor)
    {
        using var scope = NewDisposeScope();
        return tensor.dtype switch
        {
            ScalarType.Float32 => tensor.storage<float>().data_ptr(),
            ScalarType.Float64 => tensor.storage<double>().data_ptr(),
            ScalarType.Int64 => tensor.storage<long>().data_ptr(),
            ScalarType.Int32 => tensor.storage<int>().data_ptr(),
            ScalarType.Byte => tensor.storage<byte>().data_ptr(),
            _ => IntPtr.Zero,
        };
    }
}
