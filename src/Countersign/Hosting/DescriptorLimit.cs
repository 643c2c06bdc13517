using System.Runtime.InteropServices;

namespace Countersign.Hosting;

/// <summary>
/// The process's file-descriptor limit (RLIMIT_NOFILE). Every socket is a descriptor: a server that runs
/// out of them cannot accept, open its database or start a thread, so the soft limit is raised to the hard
/// limit at start and the connection cap is derived from what is left (<see cref="ConnectionLimits"/>).
/// </summary>
internal static partial class DescriptorLimit
{
    /// <summary>What the limit was when the process started and what it is now; null off Linux.</summary>
    public static (ulong SoftBefore, ulong Soft, ulong Hard)? Current { get; private set; }

    private static readonly Lock Gate = new();

    /// <summary>Raises the soft limit to the hard one, once per process (the server, the CLI and the tests share it).</summary>
    public static (ulong SoftBefore, ulong Soft, ulong Hard)? Raise()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        lock (Gate)
        {
            if (Current is { } known)
            {
                return known;
            }
            if (NativeMethods.getrlimit(NativeMethods.RlimitNofile, out var limit) != 0)
            {
                return null;
            }
            var before = limit.Current;
            if (limit.Current < limit.Maximum)
            {
                var raised = limit with { Current = limit.Maximum };
                if (NativeMethods.setrlimit(NativeMethods.RlimitNofile, in raised) == 0)
                {
                    limit = raised;
                }
            }
            Current = (before, limit.Current, limit.Maximum);
            return Current;
        }
    }

    private static partial class NativeMethods
    {
        // RLIMIT_NOFILE on Linux (x86-64 and arm64 alike).
        public const int RlimitNofile = 7;

        [StructLayout(LayoutKind.Sequential)]
        public readonly record struct RLimit(ulong Current, ulong Maximum);

        [LibraryImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial int getrlimit(int resource, out RLimit limit);

        [LibraryImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static partial int setrlimit(int resource, in RLimit limit);
    }
}
