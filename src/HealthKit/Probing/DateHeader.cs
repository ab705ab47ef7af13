// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Text;

namespace HealthKit.Probing;

/// <summary>
/// The <c>Date</c> header's value (RFC 9110 asks an origin server with a clock for it), formatted once per second
/// and shared by the listener's threads, as Kestrel's own date header manager does.
/// </summary>
internal sealed class DateHeader(TimeProvider time)
{
    private Entry? _current;

    public byte[] Current
    {
        get
        {
            var now = time.GetUtcNow();
            var second = now.ToUnixTimeSeconds();
            var current = Volatile.Read(ref _current);
            if (current is null || current.Second != second)
            {
                current = new Entry(second, Encoding.ASCII.GetBytes(now.ToString("r", CultureInfo.InvariantCulture)));
                Volatile.Write(ref _current, current);
            }

            return current.Value;
        }
    }

    private sealed record Entry(long Second, byte[] Value);
}
