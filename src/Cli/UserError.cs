namespace Harness.Cli;

/// <summary>Which exceptions are the user's input being wrong (one clear line) rather than a bug (stack trace).</summary>
public static class UserError
{
    public static bool IsUserError(Exception ex) =>
        ex is ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException
            or FormatException or IOException or UnauthorizedAccessException or NotSupportedException
            or InvalidOperationException;
}
