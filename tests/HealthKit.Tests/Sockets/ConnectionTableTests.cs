// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Sockets;
using Microsoft.Extensions.Time.Testing;

namespace HealthKit.Tests.Sockets;

/// <summary>
/// The socket loop's rules on plain state, with a fake clock: which connection the cap closes, when each phase's
/// deadline closes a connection, how long the loop may wait, and the pause of accepting after a failure.
/// </summary>
[Trait("Tier", "Fast")]
public sealed class ConnectionTableTests
{
    private static readonly SocketLimits Limits = new()
    {
        MaxConnections = 3,
        AcceptBatch = 8,
        ReadDeadline = TimeSpan.FromSeconds(2),
        AnswerDeadline = TimeSpan.FromSeconds(3),
        LingerDeadline = TimeSpan.FromSeconds(1),
        MaxDrainBytes = 1024,
    };

    private readonly FakeTimeProvider _time = new();
    private readonly List<Named> _closed = [];
    private readonly ConnectionTable<Named> _table;

    public ConnectionTableTests() => _table = new ConnectionTable<Named>(Limits, _time, _closed.Add);

    [Fact]
    public void Admit_AtTheCap_ClosesTheOldestOpenConnectionInAcceptOrder()
    {
        var (a, b, c, d, e, f) = (new Named("a"), new Named("b"), new Named("c"), new Named("d"), new Named("e"), new Named("f"));
        _table.Admit(a);
        _table.Admit(b);
        _table.Admit(c);
        _table.Close(b);

        // Two open of three: room without closing anyone.
        _table.Admit(d);
        Assert.Equal(["b"], Names(_closed));

        // At the cap: the oldest open goes (a), then the next oldest that is still open (c, not the closed b).
        _table.Admit(e);
        _table.Admit(f);

        Assert.Equal(["b", "a", "c"], Names(_closed));
        Assert.Equal(3, _table.OpenCount);
        _table.Sweep();
        Assert.Equal(["d", "e", "f"], Names(_table.Connections));
    }

    [Fact]
    public void Sweep_EachPhaseDeadline_CountedFromEnteringIt_ClosesOnlyWhatIsPastIt()
    {
        var (slow, reader, lingering) = (new Named("slow"), new Named("reader"), new Named("lingering"));
        _table.Admit(slow);
        _time.Advance(TimeSpan.FromSeconds(1));
        _table.Admit(reader);
        _table.Admit(lingering);
        _table.Enter(reader, ConnectionPhase.Answer);
        _table.Enter(lingering, ConnectionPhase.Linger);
        Assert.Equal(ConnectionPhase.Request, slow.Phase);

        // 2 s after its accept the silent client's read deadline is up; the others have time left.
        _time.Advance(TimeSpan.FromSeconds(1) - TimeSpan.FromTicks(1));
        _table.Sweep();
        Assert.Empty(_closed);
        _time.Advance(TimeSpan.FromTicks(1));
        _table.Sweep();
        Assert.Equal(["slow", "lingering"], Names(_closed));

        // The answer's 3 s count from when the answer began, not from the accept.
        _time.Advance(TimeSpan.FromSeconds(2) - TimeSpan.FromTicks(1));
        _table.Sweep();
        Assert.Equal(["reader"], Names(_table.Connections));
        _time.Advance(TimeSpan.FromTicks(1));
        _table.Sweep();
        Assert.Equal(["slow", "lingering", "reader"], Names(_closed));
        Assert.Empty(_table.Connections);
        Assert.Equal(0, _table.OpenCount);
    }

    [Fact]
    public void NextWait_UntilTheNearestDeadline_AtMostIdleWait_AtLeastOneMillisecond()
    {
        Assert.Equal(SocketLimits.IdleWait, _table.NextWait());

        var connection = new Named("a");
        _table.Admit(connection);
        _table.Enter(connection, ConnectionPhase.Linger);
        _time.Advance(TimeSpan.FromMilliseconds(950));
        Assert.Equal(TimeSpan.FromMilliseconds(50), _table.NextWait());

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(TimeSpan.FromMilliseconds(1), _table.NextWait());
    }

    [Fact]
    public void PauseAccepting_AfterAFailure_ResumesAfterTheAcceptPause_AndWakesTheLoopThen()
    {
        Assert.True(_table.IsAccepting);

        _table.PauseAccepting();

        Assert.False(_table.IsAccepting);
        Assert.Equal(SocketLimits.AcceptPause, _table.NextWait());
        _time.Advance(SocketLimits.AcceptPause - TimeSpan.FromTicks(1));
        Assert.False(_table.IsAccepting);
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.True(_table.IsAccepting);
    }

    [Fact]
    public void Close_Twice_ClosesOnce_AndCloseAllClosesTheRest()
    {
        var (a, b) = (new Named("a"), new Named("b"));
        _table.Admit(a);
        _table.Admit(b);

        _table.Close(a);
        _table.Close(a);
        _table.CloseAll();

        Assert.Equal(["a", "b"], Names(_closed));
        Assert.Equal(0, _table.OpenCount);
        Assert.Empty(_table.Connections);
    }

    private static string[] Names(IEnumerable<Named> connections) => connections.Select(c => c.Name).ToArray();

    private sealed class Named(string name) : Connection
    {
        public string Name { get; } = name;
    }
}
