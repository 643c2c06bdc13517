namespace Countersign.Storage;

/// <summary>
/// The data folder and everything Countersign writes into it are the service account's alone: folders 0700,
/// files 0600, whatever the umask (the database holds password hashes and wrapped keys, the attempt log
/// usernames and addresses). Existing files keep the mode they have; docs/operations.md says how to tighten them.
/// </summary>
internal static class PrivateFiles
{
    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        Directory.CreateDirectory(path, FolderMode);
    }

    /// <summary>Creates an empty 0600 file if there is none, so whoever opens it next does not pick the mode.</summary>
    public static void Touch(string path)
    {
        if (OperatingSystem.IsWindows() || File.Exists(path))
        {
            return;
        }
        try
        {
            using var _ = new FileStream(path, new FileStreamOptions
            {
                Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = FileMode,
            });
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process (a second node, the CLI) created it first.
        }
    }

    /// <summary>Append to a log file, created 0600.</summary>
    public static FileStreamOptions AppendOptions()
    {
        var options = new FileStreamOptions { Mode = System.IO.FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }
        return options;
    }
}
