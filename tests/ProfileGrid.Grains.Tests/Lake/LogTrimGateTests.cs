using ProfileGrid.Grains.Lake;

namespace ProfileGrid.Grains.Tests.Lake;

/// <summary>What a reader holding a log partition learns when it lets go, and when archive steps may trim.</summary>
public class LogTrimGateTests
{
    private readonly WindowAgeingTests.ShiftedClock _clock = new();

    private DateTimeOffset InFiveMinutes => _clock.GetUtcNow().AddMinutes(5);

    [Fact]
    public void A_held_log_is_not_trimmed_and_its_reader_learns_it_stayed_whole()
    {
        var gate = new LogTrimGate(_clock);
        var reader = Guid.NewGuid();
        gate.Hold(reader, InFiveMinutes);
        Assert.False(gate.TryBeginTrim());
        Assert.True(gate.Release(reader));
        Assert.True(gate.TryBeginTrim());
        gate.EndTrim();
    }

    [Fact]
    public void A_reader_that_came_during_a_trim_or_met_an_erasure_is_told_the_log_may_have_been_trimmed()
    {
        var gate = new LogTrimGate(_clock);
        Assert.True(gate.TryBeginTrim());
        var duringTrim = Guid.NewGuid();
        gate.Hold(duringTrim, InFiveMinutes);
        gate.EndTrim();
        Assert.False(gate.Release(duringTrim));

        var beforeErasure = Guid.NewGuid();
        gate.Hold(beforeErasure, InFiveMinutes);
        Assert.True(gate.TryBeginTrim(regardless: true));
        gate.EndTrim();
        Assert.False(gate.Release(beforeErasure));

        var afterTrims = Guid.NewGuid();
        gate.Hold(afterTrims, InFiveMinutes);
        Assert.True(gate.Release(afterTrims));
    }

    [Fact]
    public void A_hold_lapses_at_its_deadline_so_a_dead_reader_does_not_stop_trims_for_good()
    {
        var gate = new LogTrimGate(_clock);
        var reader = Guid.NewGuid();
        gate.Hold(reader, InFiveMinutes);
        Assert.False(gate.TryBeginTrim());
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.True(gate.TryBeginTrim());
        gate.EndTrim();
        Assert.False(gate.Release(reader));
        Assert.False(gate.Release(Guid.NewGuid()));
    }
}
