// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace HealthKit.Balancers;

/// <summary>
/// The ledger and the balancer warnings as operators see them: a <c>balancers</c> member in the authorized health+json
/// document and a table on the status page. Identities are as the requests showed them (peer, <c>User-Agent</c>, path),
/// HTML-encoded on the page; nothing of the application's configuration.
/// </summary>
internal sealed class BalancerSection(ProberLedger ledger, ProberWarnings warnings)
{
    public void WriteJson(Utf8JsonWriter json)
    {
        json.WriteStartObject("balancers");
        json.WriteStartArray("probers");
        foreach (var prober in ledger.Snapshot())
        {
            json.WriteStartObject();
            json.WriteString("kind", ProberKinds.Name(prober.Kind));
            json.WriteString("door", Door(prober.Door));
            json.WriteString("peer", prober.PeerText);
            json.WriteString("userAgent", prober.UserAgent);
            json.WriteString("path", prober.Path);
            json.WriteString("asks", Role(prober.Role));
            json.WriteNumber("probes", prober.Count);
            json.WriteNumber("intervalSeconds", Math.Round(prober.Interval.TotalSeconds, 3));
            json.WriteString("lastSeen", prober.LastSeenAt);
            json.WriteNumber("lastStatus", prober.LastStatus);
            json.WriteNumber("consecutiveFailures", prober.ConsecutiveFailures);
            if (prober.Streamed)
            {
                json.WriteNumber("openStreams", prober.OpenStreams);
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        if (ledger.TurnedAway > 0)
        {
            json.WriteNumber("turnedAway", ledger.TurnedAway);
        }

        json.WriteStartArray("warnings");
        foreach (var warning in warnings.Current)
        {
            json.WriteStartObject();
            json.WriteNumber("eventId", warning.EventId);
            json.WriteString("text", warning.Text);
            json.WriteString("at", warning.At);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    public void WriteHtml(StringBuilder page)
    {
        var html = HtmlEncoder.Default;
        var probers = ledger.Snapshot();
        var raised = warnings.Current;
        page.Append("<h2 style=\"font-size:1.05rem;margin:1.5rem 0 .5rem\">Balancers</h2>");
        foreach (var warning in raised)
        {
            page.Append("<p style=\"margin:.4rem 0;padding:.5rem .7rem;border-left:4px solid #9a6700;background:#fff8c5\"><span class=\"badge warn\">")
                .Append(warning.EventId.ToString(CultureInfo.InvariantCulture)).Append("</span> ").Append(html.Encode(warning.Text)).Append("</p>");
        }

        if (probers.Length == 0)
        {
            page.Append("<p class=\"meta\">No prober seen yet.</p>");
            return;
        }

        page.Append("<table><thead><tr><th>Prober</th><th>From</th><th>Door and path</th><th>Interval</th><th>Last answer</th><th>Failing in a row</th></tr></thead><tbody>");
        foreach (var prober in probers)
        {
            var good = prober.LastStatus is >= 200 and < 400;
            page.Append("<tr><td data-label=\"Prober\" class=\"name\">").Append(html.Encode(ProberKinds.Name(prober.Kind)));
            if (prober.UserAgent.Length > 0)
            {
                page.Append("<br><span class=\"out\" style=\"font-weight:400\">").Append(html.Encode(prober.UserAgent)).Append("</span>");
            }

            page.Append("</td><td data-label=\"From\">").Append(html.Encode(prober.PeerText)).Append("</td>")
                .Append("<td data-label=\"Door and path\">").Append(html.Encode(Door(prober.Door))).Append(" <code>").Append(html.Encode(prober.Path)).Append("</code> (")
                .Append(Role(prober.Role)).Append(")</td>")
                .Append("<td data-label=\"Interval\">").Append(Interval(prober))
                .Append(CultureInfo.InvariantCulture, $" · {prober.Count} {(prober.Count == 1 ? Answer(prober) : Answer(prober) + "s")}, last {prober.SinceLastSeen.TotalSeconds:0} s ago</td>")
                .Append("<td data-label=\"Last answer\"><span class=\"badge ").Append(good ? "pass" : "fail").Append("\">")
                .Append(prober.LastStatus.ToString(CultureInfo.InvariantCulture)).Append("</span></td>")
                .Append("<td data-label=\"Failing in a row\">").Append(prober.ConsecutiveFailures.ToString(CultureInfo.InvariantCulture)).Append("</td></tr>");
        }

        page.Append("</tbody></table>");
        if (ledger.TurnedAway > 0)
        {
            page.Append(CultureInfo.InvariantCulture, $"<p class=\"meta\">{ledger.TurnedAway} further identities not kept: the ledger holds {ProberLedger.Capacity}.</p>");
        }
    }

    /// <summary>A stream has no interval: its answers are pushed when they change.</summary>
    private static string Interval(ProberView prober) =>
        prober.Streamed ? prober.OpenStreams switch { 0 => "stream closed", 1 => "stream open", var open => string.Create(CultureInfo.InvariantCulture, $"{open} streams open") }
        : prober.Interval > TimeSpan.Zero ? string.Create(CultureInfo.InvariantCulture, $"{prober.Interval.TotalSeconds:0.0#} s") : "–";

    private static string Answer(ProberView prober) => prober.Streamed ? "answer" : "probe";

    private static string Door(ProberDoor door) => door switch
    {
        ProberDoor.Http => "HTTP",
        ProberDoor.Connection => "connection",
        ProberDoor.ProbePort => "probe port",
        ProberDoor.Grpc => "gRPC",
        _ => "agent",
    };

    private static string Role(ProberRole role) => role switch
    {
        ProberRole.Readiness => "readiness",
        ProberRole.Liveness => "liveness",
        _ => "the app's",
    };
}
