// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit;
using HealthKit.Sample.Data;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddRazorPages();
builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
builder.Services.AddAuthorization();
builder.Services.AddSingleton(TimeProvider.System);

// PostgreSQL when a connection string for it is configured, otherwise a SQLite file, so the sample runs on a
// fresh clone with nothing installed. Each provider has its own context type and migrations.
var postgres = builder.Configuration.GetConnectionString("Postgres");
if (string.IsNullOrWhiteSpace(postgres))
{
    var sqlite = new SqliteConnectionStringBuilder(builder.Configuration.GetConnectionString("Sqlite") ?? "Data Source=healthkit-sample.db");

    // SQLite resolves a relative file name against the working directory; the content root is the same
    // wherever the sample is started from.
    if (!Path.IsPathRooted(sqlite.DataSource))
    {
        sqlite.DataSource = Path.Combine(builder.Environment.ContentRootPath, sqlite.DataSource);
    }

    builder.Services.AddDbContext<SampleDbContext, SqliteSampleDbContext>(options => options.UseSqlite(sqlite.ConnectionString));
}
else
{
    builder.Services.AddDbContext<SampleDbContext, PostgresSampleDbContext>(options => options.UseNpgsql(postgres));
}

var redis = builder.Configuration.GetConnectionString("Redis");
if (string.IsNullOrWhiteSpace(redis))
{
    builder.Services.AddDistributedMemoryCache();
}
else
{
    builder.Services.AddStackExchangeRedisCache(options =>
    {
        options.Configuration = redis;
        options.InstanceName = "healthkit-sample:";
    });
}

builder.Services.AddHostedService<MigrateOnStart>();

// Every instance behind a balancer must read the others' cookies and antiforgery tokens: one application name and
// one key ring. Point Sample:KeysDirectory at a volume all instances share; HealthKit's data_protection check reports
// Degraded when keys stay in memory or in a directory local to the container.
builder.Services.AddDataProtection()
    .SetApplicationName("healthkit-sample")
    .PersistKeysToFileSystem(new DirectoryInfo(builder.Configuration["Sample:KeysDirectory"] ?? Path.Combine(builder.Environment.ContentRootPath, "keys")));

// Probes at /health, /health/ready and /health/live, answered in front of host filtering, HTTPS redirection and
// authentication. The start stops, before the port is bound, when Sample:SupportEmail is missing or empty.
// Readiness also renders "/" and "/Privacy" (DeployHealth:SmokePages in appsettings.json) and the Notes page,
// which reads the database and the cache, through the app's own pipeline.
builder.Services.AddDeployHealth()
    .RequireConfiguration("Sample:SupportEmail")
    .AddSmokePage("/Notes", page => page.ExpectedText = "Notes");

var app = builder.Build();

if (!app.Environment.IsDevelopment())
{
    app.UseExceptionHandler("/Error");
    app.UseHsts();
}

app.UseHttpsRedirection();
app.UseRouting();
app.UseAuthentication();
app.UseAuthorization();

app.MapStaticAssets();
app.MapRazorPages().WithStaticAssets();

await app.RunAsync();
