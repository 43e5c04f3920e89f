namespace Harness.Data;

/// <summary>The on-disk layouts Harness reads.</summary>
public enum DataLayout { CifarBinary, CifarPython, ImageFolder }
