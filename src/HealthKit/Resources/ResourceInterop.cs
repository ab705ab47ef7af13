// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.IO.Enumeration;
using System.Runtime.InteropServices;

namespace HealthKit.Resources;

/// <summary>
/// What the process asks the kernel about itself, each in microseconds: whether a directory may be written
/// (<c>access(2)</c>, which also says "read-only file system"), the open-file limit (<c>getrlimit(2)</c>, read on every
/// evaluation because <c>prlimit</c> can change it while the process runs) and the number of open descriptors.
/// </summary>
internal static partial class ResourceInterop
{
    private const int WriteOk = 2;
    private const int RlimitNoFile = 7;

    private static readonly EnumerationOptions EveryEntry = new() { AttributesToSkip = 0, IgnoreInaccessible = true, RecurseSubdirectories = false };

    /// <summary>Whether this process may create files in <paramref name="directory"/>; true where it cannot be asked.</summary>
    public static bool CanWrite(string directory, out int error)
    {
        error = 0;
        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        if (access(directory, WriteOk) == 0)
        {
            return true;
        }

        error = Marshal.GetLastPInvokeError();
        return false;
    }

    /// <summary>The soft limit of open descriptors on Linux; null elsewhere, when unlimited or unreadable.</summary>
    public static long? OpenFileLimit()
    {
        if (!OperatingSystem.IsLinux() || getrlimit(RlimitNoFile, out var limit) != 0 || limit.Current >= long.MaxValue)
        {
            return null;
        }

        return (long)limit.Current;
    }

    /// <summary>How many descriptors this process has open, counted in /proc/self/fd without a string per entry.</summary>
    public static int OpenFileCount()
    {
        var count = 0;
        var entries = new FileSystemEnumerable<byte>("/proc/self/fd", static (ref FileSystemEntry _) => 0, EveryEntry);
        foreach (var _ in entries)
        {
            count++;
        }

        // Enumerating holds one descriptor open: the directory itself.
        return Math.Max(0, count - 1);
    }

    [DllImport("libc", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int access([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int mode);

    [DllImport("libc", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int getrlimit(int resource, out RLimit limit);

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }
}
