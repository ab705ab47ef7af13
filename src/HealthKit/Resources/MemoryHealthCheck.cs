// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Buffers.Text;
using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;

namespace HealthKit.Resources;

/// <summary>
/// Memory headroom against the limits the runtime itself sees, so a container's limit counts without HealthKit reading
/// cgroup files: the managed heap after the last garbage collection against the GC's limit
/// (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>: <c>GCHeapHardLimit</c>, which in a container with a memory
/// limit defaults to 75% of it), and the working set not backed by files against the memory the GC sees as physical
/// (the container's limit, else the machine's). The heap after a collection, not the allocated bytes, because garbage is not pressure:
/// a heap that is still near its limit once collected is. Readiness only: an instance near its limit should take no
/// new requests; restarting it is the kernel's decision.
/// </summary>
internal sealed class MemoryHealthCheck(IOptions<DeployHealthOptions> options) : IHealthCheck, IDisposable
{
    private readonly long _physicalLimit = PhysicalLimit(GC.GetGCMemoryInfo());
    private readonly SafeFileHandle? _statm = OpenStatm();
    private int _previous;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var info = GC.GetGCMemoryInfo();
        var heapLimit = info.TotalAvailableMemoryBytes;
        var heap = info.HeapSizeBytes;
        var workingSet = WorkingSet();
        var settings = options.Value.Resources;

        var heapPercent = heapLimit > 0 ? heap * 100.0 / heapLimit : 0;
        var workingSetPercent = _physicalLimit > 0 ? workingSet * 100.0 / _physicalLimit : 0;
        var level = ResourceRules.JudgeUsed(Math.Max(heapPercent, workingSetPercent), settings.MemoryWarnPercent, settings.MemoryFailPercent, (ResourceLevel)Volatile.Read(ref _previous));
        Volatile.Write(ref _previous, (int)level);

        var description = string.Create(
            CultureInfo.InvariantCulture,
            $"Managed heap {ResourceRules.Size(heap)} of {ResourceRules.Size(heapLimit)} ({heapPercent:0}%), working set {ResourceRules.Size(workingSet)} of {ResourceRules.Size(_physicalLimit)} ({workingSetPercent:0}%); warn at {settings.MemoryWarnPercent}%, fail at {settings.MemoryFailPercent}%.");
        return Task.FromResult(new HealthCheckResult(ResourceRules.ToStatus(level, context.Registration.FailureStatus), description));
    }

    public void Dispose() => _statm?.Dispose();

    /// <summary>
    /// The memory the GC takes as physical: its high-memory-load threshold is <c>GCHighMemPercent</c> of it (of the
    /// container's limit in a container), whether or not a heap hard limit is set; never less than the heap's limit.
    /// </summary>
    internal static long PhysicalLimit(GCMemoryInfo info)
    {
        var percent = 90.0;
        if (GC.GetConfigurationVariables().TryGetValue("GCHighMemPercent", out var configured)
            && Convert.ToDouble(configured, CultureInfo.InvariantCulture) is > 0 and <= 100 and var value)
        {
            percent = value;
        }

        return Math.Max(info.TotalAvailableMemoryBytes, (long)(info.HighMemoryLoadThresholdBytes * 100.0 / percent));
    }

    /// <summary>The working set not backed by files, from /proc/self/statm on Linux, read into a stack buffer; <see cref="Environment.WorkingSet"/> elsewhere.</summary>
    private long WorkingSet()
    {
        if (_statm is { } handle)
        {
            Span<byte> buffer = stackalloc byte[128];
            try
            {
                var read = RandomAccess.Read(handle, buffer, 0);
                if (ParsePrivatePages(buffer[..read]) is { } pages)
                {
                    return pages * Environment.SystemPageSize;
                }
            }
            catch (IOException)
            {
            }
        }

        return Environment.WorkingSet;
    }

    /// <summary>
    /// Resident pages not backed by a file, from /proc/self/statm: its second field (resident) less its third (shared:
    /// file-backed and shared memory). Mapped assemblies and other clean file pages are resident too, but the kernel
    /// drops them under pressure instead of killing the process, and in a cgroup they are charged to whichever group
    /// read the file first; what the heap, native buffers and thread stacks hold is what runs into the limit.
    /// </summary>
    internal static long? ParsePrivatePages(ReadOnlySpan<byte> statm)
    {
        var space = statm.IndexOf((byte)' ');
        if (space < 0 || !Utf8Parser.TryParse(statm[(space + 1)..], out long resident, out var used))
        {
            return null;
        }

        var rest = statm[(space + 1 + used)..];
        return rest.Length > 1 && rest[0] == (byte)' ' && Utf8Parser.TryParse(rest[1..], out long shared, out _)
            ? Math.Max(0, resident - shared)
            : resident;
    }

    // Kept open: procfs regenerates the file on every read at offset 0, so no open or close per evaluation.
    private static SafeFileHandle? OpenStatm()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            return File.OpenHandle("/proc/self/statm");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
