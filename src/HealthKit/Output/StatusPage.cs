// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using HealthKit.Verdict;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Output;

/// <summary>
/// The status page for people: server-rendered HTML, no script, refreshed by a meta tag, readable on a phone.
/// Every value is HTML-encoded; outputs are the same redacted messages as in the health document.
/// </summary>
internal static class StatusPage
{
    public const string ContentType = "text/html; charset=utf-8";
    private const int RefreshSeconds = 10;

    public static byte[] Render(in ProbeVerdict verdict, string title, HealthDocumentWriter document)
    {
        var snapshot = verdict.Snapshot;
        var status = verdict.Status;
        var note = HealthDocumentWriter.Note(verdict);
        var html = HtmlEncoder.Default;
        var page = new StringBuilder(4096);
        page.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append(CultureInfo.InvariantCulture, $"<meta http-equiv=\"refresh\" content=\"{RefreshSeconds}\">")
            .Append("<meta name=\"robots\" content=\"noindex\">")
            .Append("<title>").Append(html.Encode(title)).Append(" – ").Append(Word(status)).Append("</title><style>")
            .Append("body{font:16px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;padding:1rem;background:#f6f7f9;color:#1b1f24}")
            .Append("h1{font-size:1.3rem;margin:0 0 .25rem}p.meta{margin:0 0 1rem;color:#57606a;font-size:.9rem}")
            .Append(".badge{display:inline-block;padding:.1rem .55rem;border-radius:1rem;font-weight:600;font-size:.85rem;color:#fff}")
            .Append(".pass{background:#1a7f37}.warn{background:#9a6700}.fail{background:#cf222e}")
            .Append("table{width:100%;border-collapse:collapse;background:#fff;border-radius:.5rem;overflow:hidden;box-shadow:0 1px 2px rgba(0,0,0,.08)}")
            .Append("th,td{text-align:left;padding:.55rem .7rem;border-bottom:1px solid #eaeef2;vertical-align:top}th{font-size:.8rem;color:#57606a;text-transform:uppercase;letter-spacing:.03em}")
            .Append("td.out{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem;word-break:break-word}")
            .Append("@media (max-width:600px){thead{display:none}tr{display:block;border-bottom:1px solid #eaeef2;padding:.3rem 0}td{display:block;border:0;padding:.2rem .7rem}td::before{content:attr(data-label);display:block;font-size:.7rem;color:#57606a;text-transform:uppercase}")

            // On a phone each check is a card: its name as the card's heading, and no empty Output for a passing check.
            .Append("td.name{font-weight:600}td.name::before{display:none}td.out:empty{display:none}}")
            .Append("</style></head><body>");
        page.Append("<h1>").Append(html.Encode(title)).Append(" <span class=\"badge ").Append(Word(status)).Append("\">")
            .Append(Label(status)).Append("</span></h1>");
        page.Append("<p class=\"meta\">");
        if (note is not null)
        {
            page.Append("<strong>").Append(html.Encode(note)).Append("</strong> · ");
        }

        if (snapshot is not null)
        {
            page.Append("Evaluated ").Append(snapshot.EvaluatedAt.ToString("u", CultureInfo.InvariantCulture))
                .Append(CultureInfo.InvariantCulture, $" in {snapshot.Report.TotalDuration.TotalMilliseconds:0} ms");
        }
        else
        {
            page.Append("Not evaluated yet");
        }

        page.Append(CultureInfo.InvariantCulture, $" · refreshes every {RefreshSeconds} s</p>");
        page.Append("<table><thead><tr><th>Check</th><th>Status</th><th>Duration</th><th>Since</th><th>Output</th></tr></thead><tbody>");
        if (snapshot is not null)
        {
            foreach (var (name, entry) in snapshot.Report.Entries)
            {
                page.Append("<tr><td data-label=\"Check\" class=\"name\">").Append(html.Encode(name)).Append("</td>")
                    .Append("<td data-label=\"Status\"><span class=\"badge ").Append(Word(entry.Status)).Append("\">").Append(Label(entry.Status)).Append("</span></td>")
                    .Append(CultureInfo.InvariantCulture, $"<td data-label=\"Duration\">{entry.Duration.TotalMilliseconds:0.#} ms</td>")
                    .Append("<td data-label=\"Since\">");
                if (snapshot.Transitions.TryGetValue(name, out var since))
                {
                    page.Append(since.ToString("u", CultureInfo.InvariantCulture));
                }

                page.Append("</td><td data-label=\"Output\" class=\"out\">")
                    .Append(entry.Status == HealthStatus.Healthy ? string.Empty : html.Encode(document.Output(entry)))
                    .Append("</td></tr>");
            }
        }

        page.Append("</tbody></table>");
        FleetSection.WriteHtml(page, document.Fleet);
        document.Balancers?.WriteHtml(page);
        page.Append("</body></html>");
        return Encoding.UTF8.GetBytes(page.ToString());
    }

    private static string Word(HealthStatus status) => HealthDocumentWriter.Word(status);

    private static string Label(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "Healthy",
        HealthStatus.Degraded => "Degraded",
        _ => "Unhealthy",
    };
}
