// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Buffers;
using System.Reflection;
using System.Text.Json;
using HealthKit.Balancers;
using HealthKit.Fleet;
using HealthKit.Verdict;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HealthKit.Output;

/// <summary>
/// Writes the full <c>application/health+json</c> document for an authorized caller, in the terms of the IETF draft
/// "Health Check Response Format for HTTP APIs": status, version and releaseId of the running build, notes, and one
/// entry per check with its component type, status, time, age (seconds since its result was produced), duration and,
/// on failure, a redacted message.
/// </summary>
internal sealed class HealthDocumentWriter
{
    private readonly string? _version;
    private readonly string? _releaseId;
    private readonly ConfiguredValues _configured;
    private readonly TimeProvider _time;

    public HealthDocumentWriter(ConfiguredValues configured, FleetView? fleet = null, BalancerSection? balancers = null, TimeProvider? time = null)
    {
        _configured = configured;
        _time = time ?? TimeProvider.System;
        Fleet = fleet;
        Balancers = balancers;
        var entry = Assembly.GetEntryAssembly();
        _releaseId = entry?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        _version = entry?.GetName().Version?.Major.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Gets the fleet view the document and the status page show, when the fleet view is registered.</summary>
    public FleetView? Fleet { get; }

    /// <summary>Gets the probers and balancer warnings the document and the status page show.</summary>
    public BalancerSection? Balancers { get; }

    public static string Word(HealthStatus status) => status switch
    {
        HealthStatus.Healthy => "pass",
        HealthStatus.Degraded => "warn",
        _ => "fail",
    };

    /// <summary>
    /// The verdict's reason as the document's <c>notes</c>, the status page and the fleet board show it: from
    /// <see cref="ProbeVerdict.Cause"/>, so a sentence never decides whether a note is shown. A verdict the checks
    /// decided has none (each failing check is in <c>checks</c> with its output); the words of the rules whose sentence
    /// carries a measure or a check (the overload's wait, the fleet's counts) are the rule's own.
    /// </summary>
    public static string? Note(in ProbeVerdict verdict) => verdict.Cause switch
    {
        VerdictReason.None or VerdictReason.ChecksFailing => null,
        VerdictReason.Starting => "starting",
        VerdictReason.Draining => "draining",
        VerdictReason.Overloaded => verdict.Reason ?? "overloaded",
        VerdictReason.FleetOutage => verdict.Reason ?? "fleet-wide outage",
        VerdictReason.FleetConfirming => verdict.Reason ?? "waiting for the board",
        VerdictReason.Stuck => verdict.Reason ?? "stuck",
        _ => verdict.Reason,
    };

    public byte[] Write(in ProbeVerdict verdict)
    {
        var snapshot = verdict.Snapshot;
        var status = verdict.Status;
        var note = Note(verdict);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", Word(status));
            if (_version is not null)
            {
                json.WriteString("version", _version);
            }

            if (_releaseId is not null)
            {
                json.WriteString("releaseId", _releaseId);
            }

            if (note is not null)
            {
                json.WriteStartArray("notes");
                json.WriteStringValue(note);
                json.WriteEndArray();
            }

            if (snapshot is not null)
            {
                json.WriteStartObject("checks");
                var now = _time.GetTimestamp();
                foreach (var (name, entry) in snapshot.Report.Entries)
                {
                    json.WriteStartArray(name);
                    json.WriteStartObject();
                    json.WriteString("componentType", ComponentType(entry));
                    json.WriteString("status", Word(entry.Status));
                    // A check within its interval shows the result it produced earlier: its own time, and how old it is.
                    json.WriteString("time", snapshot.RecordedAt(name, _time));
                    json.WriteNumber("age", Math.Round(snapshot.AgeOf(name, _time, now).TotalSeconds, 1));
                    json.WriteNumber("observedValue", Math.Round(entry.Duration.TotalMilliseconds, 3));
                    json.WriteString("observedUnit", "ms");
                    if (snapshot.Transitions.TryGetValue(name, out var since))
                    {
                        json.WriteString("since", since);
                    }

                    if (entry.Status != HealthStatus.Healthy)
                    {
                        json.WriteString("output", Output(entry));
                    }

                    json.WriteEndObject();
                    json.WriteEndArray();
                }

                json.WriteEndObject();
            }

            if (Fleet is not null)
            {
                FleetSection.WriteJson(json, Fleet);
            }

            Balancers?.WriteJson(json);

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The message a person needs, never a stack trace, with secrets and endpoints removed.</summary>
    public string Output(HealthReportEntry entry) =>
        Redactor.Redact(entry.Description ?? entry.Exception?.GetBaseException().Message ?? entry.Status.ToString(), _configured.Names, _configured.Secrets);

    private static string ComponentType(HealthReportEntry entry)
    {
        foreach (var tag in entry.Tags)
        {
            if (tag is "db" or "database" or "cache" or "datastore")
            {
                return "datastore";
            }
        }

        return "component";
    }
}
