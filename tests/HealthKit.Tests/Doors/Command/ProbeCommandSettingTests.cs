// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Doors.Command;

namespace HealthKit.Tests.Doors.Command;

/// <summary>Where the probe process finds the probe path before any host exists.</summary>
[Trait("Tier", "Fast")]
public sealed class ProbeCommandSettingTests : IDisposable
{
    private readonly DirectoryInfo _app = Directory.CreateTempSubdirectory("healthkit-probe-app-");

    public void Dispose() => _app.Delete(recursive: true);

    [Fact]
    public void Setting_PathInAppsettingsOfTheEnvironment_IsUsed_EnvironmentVariableWins()
    {
        File.WriteAllText(Path.Combine(_app.FullName, "appsettings.json"), """{ "DeployHealth": { "Path": "/status" } }""");
        File.WriteAllText(Path.Combine(_app.FullName, "appsettings.Staging.json"), """{ "DeployHealth": { "Path": "/_health" } }""");
        Func<string, string?> production = _ => null;
        Func<string, string?> staging = n => n == "ASPNETCORE_ENVIRONMENT" ? "Staging" : null;
        Func<string, string?> overridden = n => n == "DeployHealth__Path" ? "/from-env" : null;

        Assert.Equal("/status", ProbeCommand.Setting("DeployHealth__Path", production, _app.FullName));
        Assert.Equal("/_health", ProbeCommand.Setting("DeployHealth__Path", staging, _app.FullName));
        Assert.Equal("/from-env", ProbeCommand.Setting("DeployHealth__Path", overridden, _app.FullName));
        Assert.Equal(
            new Uri("http://127.0.0.1:8080/status/ready"),
            ProbeCommand.Parse(["app.dll", "--health-probe", "ready"], n => ProbeCommand.Setting(n, production, _app.FullName)));
    }

    [Fact]
    public void Setting_NoAppsettings_DefaultPath()
    {
        Assert.Null(ProbeCommand.Setting("DeployHealth__Path", _ => null, _app.FullName));
        Assert.Equal(new Uri("http://127.0.0.1:8080/health/live"), ProbeCommand.Parse(["app.dll", "--health-probe"], n => ProbeCommand.Setting(n, _ => null, _app.FullName)));
    }
}
