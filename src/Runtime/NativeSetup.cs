using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Harness.Runtime;

/// <summary>
/// Settings libtorch's native code reads from the process environment, applied before the first convolution. On an
/// AMD CPU with AVX-512 VP2INTERSECT (Zen 5, the machine this project moved to on 2026-12-07) libtorch 2.10's oneDNN
/// computes float32 convolutions wrong for many shapes with its AVX, AVX2 and AVX-512 kernels (errors of order 1
/// against a float64 im2col reference in a sweep of 300 random shapes, in both layouts; crashes on some large 1×1
/// ones), while its SSE4.1 kernels and PyTorch 1.13 are right (2e-5). There oneDNN is capped at SSE4.1
/// (<c>ONEDNN_MAX_CPU_ISA=SSE41</c>) unless the user set the variable. <see cref="MemoryLayout.ChannelsLastFault"/>
/// checks the result once per process.
/// </summary>
public static class NativeSetup
{
    private const string IsaVariable = "ONEDNN_MAX_CPU_ISA";

    /// <summary>What <see cref="Apply"/> did, for reports: null when it left oneDNN alone.</summary>
    public static string? Applied { get; private set; }

#pragma warning disable CA2255 // the setting must precede libtorch's first convolution, whoever loads this assembly
    [ModuleInitializer]
    internal static void OnLoad() => Apply();
#pragma warning restore CA2255

    /// <summary>Caps oneDNN's ISA where its kernels are known to compute wrong; idempotent, and a no-op once the user
    /// set <c>ONEDNN_MAX_CPU_ISA</c> or <c>DNNL_MAX_CPU_ISA</c>.</summary>
    public static void Apply()
    {
        if (Applied is not null || !OperatingSystem.IsLinux()) return;
        if (Environment.GetEnvironmentVariable(IsaVariable) is { Length: > 0 } || Environment.GetEnvironmentVariable("DNNL_MAX_CPU_ISA") is { Length: > 0 }) return;
        if (!KnownBrokenCpu()) return;
        // .NET keeps its own copy of the environment on Unix; native getenv reads libc's.
        if (setenv(IsaVariable, "SSE41", 1) != 0) return;
        Environment.SetEnvironmentVariable(IsaVariable, "SSE41");
        Applied = $"{IsaVariable}=SSE41 (oneDNN's AVX kernels compute wrong on this AMD CPU with AVX-512 VP2INTERSECT)";
    }

    private static bool KnownBrokenCpu()
    {
        try
        {
            string? vendor = null, flags = null;
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (vendor is null && line.StartsWith("vendor_id", StringComparison.Ordinal)) vendor = line;
                else if (flags is null && line.StartsWith("flags", StringComparison.Ordinal)) flags = line;
                if (vendor is not null && flags is not null) break;
            }
            return vendor?.Contains("AuthenticAMD", StringComparison.Ordinal) == true
                   && flags is not null && flags.Split(' ', ':', '\t').Contains("avx512_vp2intersect");
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static readonly Lazy<bool> NnpackChecked = new(CheckNnpack);

    /// <summary>
    /// Turns libtorch's NNPACK path off where NNPACK cannot run on this CPU. libtorch asks NNPACK whether it works
    /// before each float convolution of a batch of 16 or more that oneDNN does not take, and on a CPU NNPACK does not
    /// support (its cpuinfo finds no AVX2 here) prints "Could not initialize NNPACK! Reason: Unsupported hardware."
    /// on stderr each time: four lines for one evaluation, around the one <c>error:</c> line a refusal promises.
    /// This asks NNPACK once itself (<c>nnp_initialize</c>, idempotent) and, when it declines, clears libtorch's
    /// user flag (<c>at::globalContext().setUserEnabledNNPACK(false)</c>, what <c>torch.backends.nnpack.set_flags(False)</c>
    /// does), which libtorch reads before asking NNPACK: the convolution takes the path it took anyway, silently.
    /// Where NNPACK works nothing changes. Loads libtorch (TorchSharp's first call) if it is not loaded yet.
    /// </summary>
    public static void QuietNnpack() => _ = NnpackChecked.Value;

    private static bool CheckNnpack()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            _ = TorchSharp.torch.get_num_threads(); // loads libtorch through TorchSharp's own resolution
            if (!NativeLibrary.TryLoad("libtorch_cpu.so", typeof(NativeSetup).Assembly, null, out var torch)) return false;
            if (!NativeLibrary.TryGetExport(torch, "nnp_initialize", out var initialize)
                || !NativeLibrary.TryGetExport(torch, "_ZN2at13globalContextEv", out var globalContext)
                || !NativeLibrary.TryGetExport(torch, "_ZN2at7Context20setUserEnabledNNPACKEb", out var setEnabled))
                return false;
            int status = Marshal.GetDelegateForFunctionPointer<NnpInitialize>(initialize)();
            if (status == 0) return false; // nnp_status_success: NNPACK runs here
            var context = Marshal.GetDelegateForFunctionPointer<GlobalContext>(globalContext)();
            Marshal.GetDelegateForFunctionPointer<SetUserEnabledNnpack>(setEnabled)(context, false);
            return true; // NNPACK declined (51: unsupported hardware) and libtorch no longer asks it
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return false;
        }
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int NnpInitialize();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate nint GlobalContext();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SetUserEnabledNnpack(nint context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi)]
    private static extern int setenv(string name, string value, int overwrite);
}
