using System.Runtime;
using System.Runtime.InteropServices;

namespace Harness.Runtime;

/// <summary>
/// Hands memory that a long run no longer uses back to the operating system: a blocking, compacting collection of
/// the managed heap (checkpoint writes leave tens of MiB of large-object garbage that the GC, seeing little managed
/// pressure, would keep), then glibc's <c>malloc_trim(0)</c> (freed native pages in every arena: libtorch and oneDNN
/// allocate through malloc). The trainer calls it once per epoch, after the state is saved; it costs milliseconds
/// (what it saves is measured by <c>harness bench compare</c>'s memory trace, README, Speed).
/// </summary>
public static class NativeMemory
{
    private static bool _noTrim = !OperatingSystem.IsLinux();

    public static void Release()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        if (_noTrim) return;
        try
        {
            malloc_trim(0);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            _noTrim = true; // not glibc (musl, say): nothing to trim through this call
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int malloc_trim(nuint pad);
}
