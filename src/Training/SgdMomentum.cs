using static TorchSharp.torch;

namespace Harness.Training;

/// <summary>
/// PyTorch's SGD (dampening 0, no Nesterov): <c>g = grad + wd·p; buf = momentum·buf + g</c> (buf = g on the first
/// step); <c>p -= lr·buf</c>. Its momentum buffers are named after the parameters so a run can be resumed exactly.
/// </summary>
public sealed class SgdMomentum(IReadOnlyList<(string Name, Tensor Parameter)> parameters, double momentum, double weightDecay) : IDisposable
{
    private readonly Dictionary<string, Tensor> _buffers = new();

    public IReadOnlyList<(string Name, Tensor Parameter)> Parameters { get; } = parameters;
    public double LearningRate { get; set; }
    public IReadOnlyDictionary<string, Tensor> Buffers => _buffers;

    public void ZeroGrad()
    {
        foreach (var (_, p) in Parameters)
            if (p.grad is { } g) { g.detach_(); g.zero_(); }
    }

    public void Step()
    {
        using var _ = no_grad();
        foreach (var (name, p) in Parameters)
        {
            if (p.grad is not { } grad) continue;
            using var scope = NewDisposeScope();
            var d = weightDecay != 0 ? grad.add(p, alpha: weightDecay) : grad.clone();
            if (momentum != 0)
            {
                if (_buffers.TryGetValue(name, out var buf)) buf.mul_(momentum).add_(d);
                else _buffers[name] = buf = d.clone().DetachFromDisposeScope();
                d = buf;
            }
            p.add_(d, alpha: -LearningRate);
        }
    }

    /// <summary>Replaces the momentum buffers by copies of <paramref name="buffers"/>, each on its parameter's device
    /// (saved buffers are read on the CPU).</summary>
    public void LoadBuffers(IEnumerable<(string Name, Tensor Buffer)> buffers)
    {
        foreach (var b in _buffers.Values) b.Dispose();
        _buffers.Clear();
        var devices = Parameters.ToDictionary(p => p.Name, p => p.Parameter.device);
        foreach (var (name, t) in buffers)
        {
            var copy = t.clone();
            if (devices.TryGetValue(name, out var device) && (copy.device_type != device.type || copy.device_index != device.index))
            {
                var moved = copy.to(device);
                copy.Dispose();
                copy = moved;
            }
            _buffers[name] = copy.DetachFromDisposeScope();
        }
    }

    public void Dispose()
    {
        foreach (var b in _buffers.Values) b.Dispose();
        _buffers.Clear();
    }
}
