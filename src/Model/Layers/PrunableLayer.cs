using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Model.Layers;

/// <summary>
/// A layer with a weight that can be masked exactly like <c>torch.nn.utils.prune</c>: unmasked it registers the
/// parameter <c>weight</c>; masked it registers the parameter <c>weight_orig</c> and the buffer
/// <c>weight_mask</c>, and the forward pass uses their product. <see cref="MakePermanent"/> folds the mask.
/// </summary>
public abstract class PrunableLayer : nn.Module<Tensor, Tensor>
{
    private Parameter _weight;
    private Parameter? _bias;
    private Tensor? _mask;

    protected PrunableLayer(string name, Tensor weight, Tensor? bias) : base(name)
    {
        _weight = (Parameter)new Parameter(weight, requires_grad: true).DetachFromDisposeScope();
        ConditionallyRegisterParameter("weight", _weight);
        if (bias is not null)
        {
            _bias = (Parameter)new Parameter(bias, requires_grad: true).DetachFromDisposeScope();
            ConditionallyRegisterParameter("bias", _bias);
        }
    }

    /// <summary>Registration is explicit (torchvision's names); reflection over fields must not add any.</summary>
    protected override void RegisterComponents() { }

    /// <summary>The trainable weight: registered as <c>weight</c>, or as <c>weight_orig</c> while masked.</summary>
    public Parameter Weight => _weight;

    public Parameter? Bias => _bias;

    /// <summary>The 0/1 mask (same shape and dtype as the weight) while masked; null otherwise.</summary>
    public Tensor? Mask => _mask;

    public bool IsMasked => _mask is not null;

    /// <summary>The weight the forward pass uses: <c>weight_orig * weight_mask</c> while masked.</summary>
    public Tensor EffectiveWeight() => _mask is null ? _weight : _weight * _mask;

    /// <summary>Sets (or replaces) the mask. Callers that prune iteratively combine old and new masks first.</summary>
    public void ApplyMask(Tensor mask)
    {
        if (!mask.shape.SequenceEqual(_weight.shape))
            throw new ArgumentException(
                $"mask shape [{string.Join(", ", mask.shape)}] does not match weight shape [{string.Join(", ", _weight.shape)}]",
                nameof(mask));
        var m = mask.to(_weight.dtype, _weight.device).detach().clone().DetachFromDisposeScope();
        if (_mask is null)
        {
            ConditionallyRegisterParameter("weight", null);
            ConditionallyRegisterParameter("weight_orig", _weight);
        }
        else
        {
            ConditionallyRegisterBuffer("weight_mask", null);
            _mask.Dispose();
        }
        _mask = m;
        ConditionallyRegisterBuffer("weight_mask", _mask);
    }

    /// <summary>Folds the mask into a plain <c>weight</c> parameter and drops <c>weight_orig</c> and
    /// <c>weight_mask</c>. Idempotent; a no-op for an unmasked layer.</summary>
    public void MakePermanent()
    {
        if (_mask is null) return;
        Parameter folded;
        using (no_grad())
        {
            // masked_fill rather than orig * mask: pruned entries become +0.0, never -0.0, so sparse storage sees zeros.
            using var pruned = _mask.eq(0);
            folded = (Parameter)new Parameter(_weight.masked_fill(pruned, 0.0), requires_grad: _weight.requires_grad).DetachFromDisposeScope();
        }
        ConditionallyRegisterParameter("weight_orig", null);
        ConditionallyRegisterBuffer("weight_mask", null);
        _weight.Dispose();
        _mask.Dispose();
        _mask = null;
        _weight = folded;
        ConditionallyRegisterParameter("weight", _weight);
    }

    /// <summary>Replaces the layer's tensors by a plain (unmasked) <c>weight</c> and <c>bias</c> of the same output
    /// shape: any mask is dropped and a bias is registered when there was none (BatchNorm folding). The tensors
    /// are copied; the parameters keep the old weight's device, dtype and <c>requires_grad</c>.</summary>
    public void Replace(Tensor weight, Tensor? bias)
    {
        if (!weight.shape.SequenceEqual(_weight.shape))
            throw new ArgumentException(
                $"weight shape [{string.Join(", ", weight.shape)}] differs from the layer's [{string.Join(", ", _weight.shape)}]",
                nameof(weight));
        if (bias is not null && (bias.dim() != 1 || bias.shape[0] != _weight.shape[0]))
            throw new ArgumentException(
                $"bias shape [{string.Join(", ", bias.shape)}] must be [{_weight.shape[0]}]", nameof(bias));
        bool grad = _weight.requires_grad;
        Parameter w, b = null!;
        using (no_grad())
        {
            w = (Parameter)new Parameter(weight.to(_weight.dtype, _weight.device).detach().clone(), grad).DetachFromDisposeScope();
            if (bias is not null)
                b = (Parameter)new Parameter(bias.to(_weight.dtype, _weight.device).detach().clone(), grad).DetachFromDisposeScope();
        }
        if (_mask is not null)
        {
            ConditionallyRegisterParameter("weight_orig", null);
            ConditionallyRegisterBuffer("weight_mask", null);
            _mask.Dispose();
            _mask = null;
        }
        _weight.Dispose();
        _weight = w;
        ConditionallyRegisterParameter("weight", _weight);
        if (_bias is not null)
        {
            ConditionallyRegisterParameter("bias", null);
            _bias.Dispose();
            _bias = null;
        }
        if (bias is not null)
        {
            _bias = b;
            ConditionallyRegisterParameter("bias", _bias);
        }
    }

    /// <summary>Replaces the stored tensors after a device or dtype move (parameters are re-created there).</summary>
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking)
    {
        MoveAll(t => t.to(dtype, device));
        return this;
    }

    protected override nn.Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking)
    {
        var device = new Device(deviceType, deviceIndex);
        MoveAll(t => t.to(device));
        return this;
    }

    protected override nn.Module _to(ScalarType dtype, bool non_blocking)
    {
        MoveAll(t => t.to(dtype));
        return this;
    }

    private void MoveAll(Func<Tensor, Tensor> move)
    {
        bool masked = _mask is not null;
        string weightName = masked ? "weight_orig" : "weight";
        using (no_grad())
        {
            var w = (Parameter)new Parameter(move(_weight).detach(), _weight.requires_grad).DetachFromDisposeScope();
            _weight.Dispose();
            _weight = w;
            ConditionallyRegisterParameter(weightName, _weight);
            if (_bias is not null)
            {
                var b = (Parameter)new Parameter(move(_bias).detach(), _bias.requires_grad).DetachFromDisposeScope();
                _bias.Dispose();
                _bias = b;
                ConditionallyRegisterParameter("bias", _bias);
            }
            if (_mask is not null)
            {
                var m = move(_mask).detach().DetachFromDisposeScope();
                _mask.Dispose();
                _mask = m;
                ConditionallyRegisterBuffer("weight_mask", _mask);
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _weight.Dispose();
            _bias?.Dispose();
            _mask?.Dispose();
        }
        base.Dispose(disposing);
    }
}
