// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using HealthKit.Fleet;

namespace HealthKit.Output;

/// <summary>
/// The fleet as operators see it, in the health+json document (<c>fleet</c>) and on the status page: every live
/// instance with its status, build and when it was last seen, which checks fail where, and the board's state.
/// Only what the board holds: ids, hosts, addresses, builds, statuses; never configuration or key material.
/// </summary>
internal static class FleetSection
{
    public static void WriteJson(Utf8JsonWriter json, FleetView view)
    {
        if (!view.Enabled)
        {
            return;
        }

        var picture = view.Last;
        json.WriteStartObject("fleet");
        json.WriteString("board", view.Problem is null ? (picture is null ? "not read yet" : "read") : (view.Current is null ? "lost: judging alone" : "lost: last picture kept"));
        if (view.Problem is { } problem)
        {
            json.WriteString("boardError", Redactor.Redact(problem.Error));
            json.WriteString("boardLostSince", problem.Since);
        }

        if (picture is not null)
        {
            json.WriteString("readAt", picture.ReadAtWall);
            json.WriteNumber("live", picture.Live);
            json.WriteStartArray("instances");
            foreach (var entry in Instances(picture))
            {
                json.WriteStartObject();
                json.WriteString("id", entry.Id);
                json.WriteString("host", entry.Host);
                json.WriteBoolean("self", ReferenceEquals(entry, picture.Self));
                json.WriteStartArray("addresses");
                foreach (var address in entry.Addresses)
                {
                    json.WriteStringValue(address);
                }

                json.WriteEndArray();
                json.WriteString("build", entry.Build);
                json.WriteString("status", entry.Ready);
                if (entry.Reason is not null)
                {
                    json.WriteString("reason", entry.Reason);
                }

                json.WriteString("lastSeen", LastSeen(picture, entry));
                json.WriteStartArray("failing");
                foreach (var (check, seen) in entry.Checks)
                {
                    if (seen.Length > 0 && seen[0] == 'F')
                    {
                        json.WriteStringValue(check);
                    }
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    public static void WriteHtml(StringBuilder page, FleetView? view)
    {
        if (view is not { Enabled: true })
        {
            return;
        }

        var html = HtmlEncoder.Default;
        var picture = view.Last;
        page.Append("<h1 style=\"margin-top:1.5rem\">Fleet</h1><p class=\"meta\">");
        if (view.Problem is { } problem)
        {
            page.Append("<strong>Board unreadable since ").Append(problem.Since.ToString("u", CultureInfo.InvariantCulture)).Append(": ")
                .Append(html.Encode(Redactor.Redact(problem.Error))).Append(view.Current is null ? " · judging alone" : " · last picture kept").Append("</strong> · ");
        }

        if (picture is null)
        {
            page.Append("The board has not been read yet.</p>");
            return;
        }

        page.Append(CultureInfo.InvariantCulture, $"{picture.Live} live instances · read {picture.ReadAtWall.ToString("u", CultureInfo.InvariantCulture)}</p>");
        page.Append("<table><thead><tr><th>Instance</th><th>Status</th><th>Build</th><th>Last seen</th><th>Failing</th></tr></thead><tbody>");
        foreach (var entry in Instances(picture))
        {
            var word = entry.Ready is "pass" or "warn" ? entry.Ready : "fail";
            page.Append("<tr><td data-label=\"Instance\" class=\"name\">").Append(html.Encode(entry.Host)).Append(' ')
                .Append(html.Encode(string.Join(' ', entry.Addresses))).Append(ReferenceEquals(entry, picture.Self) ? " (this one)" : string.Empty)
                .Append("<br><small>").Append(html.Encode(entry.Id)).Append("</small></td>")
                .Append("<td data-label=\"Status\"><span class=\"badge ").Append(word).Append("\">").Append(word).Append("</span>");
            if (entry.Reason is not null)
            {
                page.Append(' ').Append(html.Encode(entry.Reason));
            }

            page.Append("</td><td data-label=\"Build\">").Append(html.Encode(entry.Build)).Append("</td>")
                .Append("<td data-label=\"Last seen\">").Append(LastSeen(picture, entry).ToString("u", CultureInfo.InvariantCulture)).Append("</td>")
                .Append("<td data-label=\"Failing\" class=\"out\">");
            var first = true;
            foreach (var (check, seen) in entry.Checks)
            {
                if (seen.Length > 0 && seen[0] == 'F')
                {
                    page.Append(first ? string.Empty : ", ").Append(html.Encode(check));
                    first = false;
                }
            }

            page.Append("</td></tr>");
        }

        page.Append("</tbody></table>");
    }

    private static IEnumerable<FleetEntry> Instances(FleetPicture picture)
    {
        if (picture.Self is { } self)
        {
            yield return self;
        }

        foreach (var peer in picture.Peers)
        {
            yield return peer;
        }
    }

    /// <summary>When Redis stored the entry, on this instance's clock.</summary>
    private static DateTimeOffset LastSeen(FleetPicture picture, FleetEntry entry) =>
        DateTimeOffset.FromUnixTimeMilliseconds(entry.StoredAt + picture.SelfClockOffset);
}
