// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Doors.Connection;

/// <summary>
/// The whole responses the connection door writes, built once: the status, headers and body the probe middleware
/// would write for GET, HEAD and OPTIONS (see <c>ProbeResponse</c>), with <c>Connection: close</c> because the door
/// answers one request and closes.
/// </summary>
internal static class ConnectionResponse
{
    private static readonly ReadOnlyMemory<byte>[] Responses = Build();

    public static ReadOnlyMemory<byte> For(ProbeVerb verb, HealthStatus status) => Responses[(Index(verb) * 3) + Index(status)];

    private static int Index(ProbeVerb verb) => verb switch
    {
        ProbeVerb.Head => 1,
        ProbeVerb.Options => 2,
        _ => 0,
    };

    private static int Index(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => 0,
        HealthStatus.Degraded => 1,
        _ => 2,
    };

    private static ReadOnlyMemory<byte>[] Build()
    {
        var responses = new ReadOnlyMemory<byte>[9];
        foreach (var verb in new[] { ProbeVerb.Get, ProbeVerb.Head, ProbeVerb.Options })
        {
            foreach (var status in new[] { HealthStatus.Healthy, HealthStatus.Degraded, HealthStatus.Unhealthy })
            {
                var statusLine = status == HealthStatus.Unhealthy ? "503 Service Unavailable" : "200 OK";
                var body = status switch
                {
                    HealthStatus.Healthy => """{"status":"pass"}""",
                    HealthStatus.Degraded => """{"status":"warn"}""",
                    _ => """{"status":"fail"}""",
                };
                var text = new StringBuilder()
                    .Append("HTTP/1.1 ").Append(statusLine).Append("\r\n")
                    .Append("Cache-Control: no-store\r\n");
                if (verb == ProbeVerb.Options)
                {
                    text.Append("Allow: ").Append(ProbeMethod.Allow).Append("\r\nContent-Length: 0\r\n");
                }
                else
                {
                    text.Append("Content-Type: application/health+json\r\nContent-Length: ").Append(body.Length).Append("\r\n");
                }

                text.Append("Connection: close\r\n\r\n");
                if (ProbeMethod.HasBody(verb))
                {
                    text.Append(body);
                }

                responses[(Index(verb) * 3) + Index(status)] = Encoding.ASCII.GetBytes(text.ToString());
            }
        }

        return responses;
    }
}
