namespace Countersign.Tests.Infrastructure;

/// <summary>The checkout the test binaries were built from: its scripts, deploy files and docs.</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Countersign.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException("the repository root (Countersign.slnx) is not above " + AppContext.BaseDirectory);
    }
}
