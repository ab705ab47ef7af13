// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Win32.SafeHandles;

var builder = WebApplication.CreateBuilder(args);
if (builder.Configuration["KEYS_DIRECTORY"] is { Length: > 0 } keys)
{
    builder.Services.AddDataProtection().SetApplicationName("limits").PersistKeysToFileSystem(new DirectoryInfo(keys));
}

builder.Services.AddDeployHealth();

var held = new List<byte[]>();
var open = new List<SafeFileHandle>();
var app = builder.Build();

// Memory the app keeps: every page written, so it is resident and counts against the container's limit.
app.MapGet("/hold", (int mb) =>
{
    lock (held)
    {
        for (var i = 0; i < mb; i++)
        {
            var block = GC.AllocateUninitializedArray<byte>(1 << 20);
            Array.Fill(block, (byte)1);
            held.Add(block);
        }

        // Collected now, so the heap size the GC reports after its last collection includes what was just held.
        GC.Collect();
        return held.Count;
    }
});

// Descriptors the app keeps open, as a leak of sockets or files would.
app.MapGet("/open", (int count) =>
{
    lock (open)
    {
        for (var i = 0; i < count; i++)
        {
            open.Add(File.OpenHandle("/dev/null"));
        }

        return open.Count;
    }
});

app.Run();
