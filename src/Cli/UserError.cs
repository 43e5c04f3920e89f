namespace Harness.Cli;

/// <summary>Which exceptions are the user's input being wrong (one clear line, exit 2) rather than a bug in Harness
/// (one line saying so, the stack trace in a log file, exit 70).</summary>
public static class UserError
{
    public const int ExitCode = 2;

    /// <summary>sysexits.h's EX_SOFTWARE: an internal error.</summary>
    public const int InternalErrorExitCode = 70;

    public static bool IsUserError(Exception ex) =>
        ex is ArgumentException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException
            or FormatException or IOException or UnauthorizedAccessException or NotSupportedException
            or System.Text.Json.JsonException or Harness.Storage.Checkpoints.CheckpointMismatchException
            or Harness.Training.TrainingDivergedException;
}
