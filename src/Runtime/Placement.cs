using TorchSharp;
using static TorchSharp.torch;

namespace Harness.Runtime;

/// <summary>
/// Where a module's tensors live and in which precision: the device and dtype of its first parameter (a module
/// without parameters is taken to be float32 on the CPU). The one place that question is answered, for the meters
/// that build inputs, for modules swapped into a network, and for rebuilt copies.
/// </summary>
public readonly record struct Placement(Device Device, ScalarType DType)
{
    public static Placement Default => new(CPU, ScalarType.Float32);

    public static Placement Of(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var first = module.parameters().FirstOrDefault();
        return first is null ? Default : Of(first);
    }

    public static Placement Of(Tensor tensor) => new(tensor.device, tensor.dtype);

    public bool IsCuda => Device.type == DeviceType.CUDA;

    // TorchSharp's Device compares by reference; two placements are the same when type, index and dtype are.
    public bool Equals(Placement other) =>
        Device.type == other.Device.type && Device.index == other.Device.index && DType == other.DType;

    public override int GetHashCode() => HashCode.Combine(Device.type, Device.index, DType);

    public override string ToString() => $"{Device} {DType}";

    /// <summary>Moves <paramref name="module"/>'s floating-point tensors to this dtype and all of them to this device.</summary>
    public T Apply<T>(T module) where T : nn.Module
    {
        module.to(DType).to(Device);
        return module;
    }

    /// <summary>Uniform [0, 1) input of <paramref name="shape"/> here, drawn from a generator seeded with
    /// <paramref name="seed"/> on this device (the same numbers on every call).</summary>
    public Tensor SeededInput(long[] shape, ulong seed)
    {
        using var generator = new Generator(seed, Device);
        return rand(shape, dtype: DType, device: Device, generator: generator);
    }
}
