// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Output;

namespace HealthKit.Tests.Output;

/// <summary>
/// The redaction of check outputs on message shapes drivers and hand-written checks produce. The real-server tests
/// (<see cref="PostgresRedactionTests"/>, <see cref="RedisRedactionTests"/>) cover the messages as they come; these
/// cover the spellings a test server cannot produce here (host names that do not resolve, password authentication).
/// </summary>
public sealed class RedactorTests
{
    [Theory]
    [InlineData("Host=db.internal;Port=5432;Username=orders;Password=correct horse battery staple;Database=orders", "correct", "horse", "staple", "db.internal", "orders")]
    [InlineData("Host=pg-primary,pg-replica;Username=app;Password=\"p;w,d\";Timeout=5", "pg-primary", "pg-replica", "p;w,d", "w,d")]
    [InlineData("Server=tcp:sql-prod,1433;User ID=sa;Pwd=Tr0ub4dor&3, Encrypt=True", "sql-prod", "Tr0ub4dor", "&3")]
    [InlineData("redis-cache:6380,password=s3cret,ssl=True,abortConnect=False", "redis-cache", "6380", "s3cret")]
    [InlineData("UnableToConnect on redis-cache:6379/Interactive, Initializing/NotStarted, last: NONE", "redis-cache", "6379")]
    [InlineData("Timeout performing GET, serverEndpoint: cache-0.cache:6379, clientName: orders-api-7f9c6d-x2k4p(SE.Redis-v2.7.27.49176)", "cache-0", "6379", "orders-api-7f9c6d-x2k4p")]
    [InlineData("Failed to connect to [fd00::12]:5432", "fd00::12", "5432")]
    [InlineData("Failed to connect to 10.0.4.17:5432", "10.0.4.17", "5432")]
    [InlineData("GET https://svc:tok3n@api.payments.example.com/v1/health failed", "svc", "tok3n", "api.payments.example.com")]
    [InlineData("postgres://app:hunter2@db:5432/orders refused", "hunter2", "db:5432")]
    [InlineData("AccountName=orders;AccountKey=QmFzZTY0S2V5PT0=;EndpointSuffix=core.windows.net", "QmFzZTY0S2V5PT0=")]
    public void Redact_SecretsAndEndpoints_Removed(string message, params string[] hidden)
    {
        var redacted = Redactor.Redact(message);

        foreach (var part in hidden)
        {
            Assert.DoesNotContain(part, redacted);
        }

        Assert.Contains("***", redacted);
    }

    [Theory]
    [InlineData("Connection refused")]
    [InlineData("Timed out after 2000 ms.")]
    [InlineData("Cancelled at its deadline.")]
    [InlineData("Failure 2 tolerated (counts after 3 in a row and 10 s failing): Connection refused")]
    [InlineData("3 pending migrations: 20261124091528_InitialCreate, 20261201080000_AddNotes")]
    [InlineData("GET /notes → 500 in 12 ms.")]
    public void Redact_PlainMessage_Unchanged(string message)
    {
        Assert.Equal(message, Redactor.Redact(message));
    }

    [Fact]
    public void Redact_MultilineWithStackTrace_FirstLineOnly()
    {
        var message = "System.InvalidOperationException: The ledger is read-only.\n   at Orders.LedgerCheck.CheckHealthAsync(HealthCheckContext context)\r\n   at HealthKit.Evaluation.HealthEvaluator.RunCheckAsync()";

        Assert.Equal("System.InvalidOperationException: The ledger is read-only.", Redactor.Redact(message));
    }

    [Fact]
    public void Redact_TheMachinesOwnName_Removed()
    {
        var message = $"Lock held by {Environment.MachineName} since 09:12 (pid 4242)";

        var redacted = Redactor.Redact(message);

        Assert.Equal("Lock held by *** since 09:12 (pid 4242)", redacted);
    }

    [Fact]
    public void Redact_VeryLongMessage_CutAt500Characters()
    {
        var redacted = Redactor.Redact(new string('x', 2000));

        Assert.Equal(501, redacted.Length);
        Assert.EndsWith("…", redacted);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Redact_Nothing_Empty(string? message)
    {
        Assert.Equal(string.Empty, Redactor.Redact(message));
    }
}
