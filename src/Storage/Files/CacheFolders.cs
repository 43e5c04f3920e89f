namespace Harness.Storage.Files;

/// <summary>The user's cache folder, as PyTorch and the XDG convention find it: <c>$XDG_CACHE_HOME</c>, else
/// <c>~/.cache</c>. Torch hub checkpoints and Harness's decoded image folders live below it.</summary>
public static class CacheFolders
{
    public static string User()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        return string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
            : xdg;
    }
}
