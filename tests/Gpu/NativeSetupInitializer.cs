using System.Runtime.CompilerServices;

namespace Harness.Tests.Gpu;

/// <summary>libtorch's native settings (<see cref="Harness.Runtime.NativeSetup"/>) before any test's first convolution.</summary>
internal static class NativeSetupInitializer
{
#pragma warning disable CA2255 // a test assembly's first code to run
    [ModuleInitializer]
    internal static void Apply() => Harness.Runtime.NativeSetup.Apply();
#pragma warning restore CA2255
}
