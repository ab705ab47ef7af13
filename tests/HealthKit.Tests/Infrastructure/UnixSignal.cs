// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Tests.Infrastructure;

/// <summary>The Linux signal numbers the server fixtures send (x86-64 and arm64 share them).</summary>
public enum UnixSignal
{
    /// <summary>SIGINT: PostgreSQL's fast shutdown.</summary>
    Interrupt = 2,

    /// <summary>SIGQUIT: PostgreSQL's immediate shutdown, nginx's graceful one.</summary>
    Quit = 3,

    /// <summary>SIGKILL: cannot be caught; the last resort.</summary>
    Kill = 9,

    /// <summary>SIGTERM: Redis, HAProxy and nginx stop.</summary>
    Terminate = 15,

    /// <summary>SIGCONT: resumes a stopped process.</summary>
    Continue = 18,

    /// <summary>SIGSTOP: freezes a process without it noticing (cannot be caught).</summary>
    Stop = 19,
}
