// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit;

/// <summary>
/// Thresholds of the checks on this instance's own resources, under <c>DeployHealth:Resources</c>: <c>memory</c>
/// (managed heap and working set against the limits the runtime sees), <c>disk</c> (free space and writability of the
/// directories the app writes) and <c>file_descriptors</c> (open descriptors against the process's limit, on Linux).
/// Above a warn threshold readiness answers 200 <c>warn</c>; above a fail threshold 503, so the balancer stops sending
/// new requests before the container is killed or every write fails. Liveness never follows them: a restart does not
/// give a full disk space back. Switch one off with <c>DeployHealth:Checks:{name}:Enabled=false</c>.
/// </summary>
public sealed class DeployHealthResourceOptions
{
    /// <summary>
    /// Gets or sets the share of the memory limit, in percent, above which <c>memory</c> reports Degraded: the managed
    /// heap after the last garbage collection against the GC's limit, or the working set not backed by files against
    /// the container's (or machine's) memory, whichever is higher.
    /// </summary>
    /// <value>The default is 80. From 1 to 100, at most <see cref="MemoryFailPercent"/>.</value>
    public int MemoryWarnPercent { get; set; } = 80;

    /// <summary>Gets or sets the share of the memory limit, in percent, above which <c>memory</c> reports Unhealthy.</summary>
    /// <value>The default is 90: the GC's own high-memory-load threshold, where it starts compacting aggressively.</value>
    public int MemoryFailPercent { get; set; } = 90;

    /// <summary>
    /// Gets or sets the free space, in bytes, below which <c>disk</c> reports Degraded for a directory, together with
    /// <see cref="DiskWarnPercent"/>: the lower of the two thresholds applies, so a large volume is not flagged for
    /// its percentage nor a small one for its bytes.
    /// </summary>
    /// <value>The default is 1 GiB (1073741824).</value>
    public long DiskWarnBytes { get; set; } = 1L << 30;

    /// <summary>Gets or sets the free space, in percent of the volume, below which <c>disk</c> reports Degraded (see <see cref="DiskWarnBytes"/>).</summary>
    /// <value>The default is 10. From 0 to 100.</value>
    public int DiskWarnPercent { get; set; } = 10;

    /// <summary>
    /// Gets or sets the free space, in bytes, below which <c>disk</c> reports Unhealthy for a directory, together with
    /// <see cref="DiskFailPercent"/> (the lower of the two applies).
    /// </summary>
    /// <value>The default is 100 MiB (104857600).</value>
    public long DiskFailBytes { get; set; } = 100L << 20;

    /// <summary>Gets or sets the free space, in percent of the volume, below which <c>disk</c> reports Unhealthy (see <see cref="DiskFailBytes"/>).</summary>
    /// <value>The default is 2. From 0 to 100, at most <see cref="DiskWarnPercent"/>.</value>
    public int DiskFailPercent { get; set; } = 2;

    /// <summary>
    /// Gets more directories <c>disk</c> watches, besides those it finds: the temp directory, a file-system Data
    /// Protection key ring and the directory of each SQLite database the app's DbContexts use. Relative paths are
    /// relative to the content root.
    /// </summary>
    /// <value>The default is empty.</value>
    public IList<string> DiskPaths { get; } = new List<string>();

    /// <summary>Gets or sets the share of the open-file limit, in percent, above which <c>file_descriptors</c> reports Degraded.</summary>
    /// <value>The default is 80. From 1 to 100, at most <see cref="FileDescriptorFailPercent"/>.</value>
    public int FileDescriptorWarnPercent { get; set; } = 80;

    /// <summary>
    /// Gets or sets the share of the open-file limit, in percent, above which <c>file_descriptors</c> reports
    /// Unhealthy: past the limit every new connection, accepted or outgoing, and every file open fails.
    /// </summary>
    /// <value>The default is 90.</value>
    public int FileDescriptorFailPercent { get; set; } = 90;
}
