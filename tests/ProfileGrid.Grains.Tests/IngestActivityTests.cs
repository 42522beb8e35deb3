using Microsoft.Extensions.Options;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Grains.Tests;

/// <summary>When the silo's ingest counts as quiet, which sets off the early writes of the quiet-spell flush.</summary>
public class IngestActivityTests
{
    private static readonly TimeSpan Spell = TimeSpan.FromMilliseconds(200);

    [Fact]
    public void The_ingest_is_quiet_a_spell_after_the_last_append_was_answered()
    {
        var clock = new WindowAgeingTests.ShiftedClock();
        var activity = new IngestActivity(clock, WithSpell(Spell));
        var append = activity.AppendStarted();
        clock.Advance(TimeSpan.FromMilliseconds(300));
        Assert.False(activity.IsQuiet);
        activity.AppendEnded(append);

        clock.Advance(TimeSpan.FromMilliseconds(150));
        Assert.False(activity.IsQuiet);
        clock.Advance(TimeSpan.FromMilliseconds(60));
        Assert.True(activity.IsQuiet);
    }

    [Fact]
    public void An_append_waiting_on_a_stalled_store_keeps_the_ingest_from_being_quiet()
    {
        // Mid-burst the store stalls: every client waits on appends in flight and none arrives. Early writes then would only
        // add to the store's load; the burst is not over.
        var clock = new WindowAgeingTests.ShiftedClock();
        var activity = new IngestActivity(clock, WithSpell(Spell));
        var first = activity.AppendStarted();
        var second = activity.AppendStarted();
        activity.AppendEnded(first);
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.False(activity.IsQuiet);
        Assert.Equal(TimeSpan.Zero, activity.QuietFor);

        activity.AppendEnded(second);
        Assert.False(activity.IsQuiet);
        clock.Advance(Spell);
        Assert.True(activity.IsQuiet);
    }

    [Fact]
    public void An_append_that_never_ends_stops_holding_the_spell_back_once_abandoned()
    {
        // A partition deactivated with an append queued: that call never returns, so its end is never counted. Without a
        // bound the silo would never be quiet again, and its profiles would write only at their flush interval.
        var clock = new WindowAgeingTests.ShiftedClock();
        var activity = new IngestActivity(clock, WithSpell(Spell));
        activity.AppendStarted();
        clock.Advance(IngestActivity.InFlightAbandonedAfter - TimeSpan.FromSeconds(1));
        Assert.False(activity.IsQuiet);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(activity.IsQuiet);

        // Forgotten, not merely outwaited: the next burst's spell is the usual one.
        var next = activity.AppendStarted();
        activity.AppendEnded(next);
        clock.Advance(TimeSpan.FromMilliseconds(150));
        Assert.False(activity.IsQuiet);
        clock.Advance(TimeSpan.FromMilliseconds(60));
        Assert.True(activity.IsQuiet);
    }

    [Fact]
    public void A_spell_of_zero_is_never_quiet()
    {
        var clock = new WindowAgeingTests.ShiftedClock();
        var off = new IngestActivity(clock, WithSpell(TimeSpan.Zero));
        var activity = new IngestActivity(clock, WithSpell(Spell));
        clock.Advance(TimeSpan.FromHours(1));
        Assert.False(off.IsQuiet);
        Assert.True(activity.IsQuiet);
    }

    private static IOptions<IngestOptions> WithSpell(TimeSpan spell) => Options.Create(new IngestOptions { QuietFlushAfter = spell });
}
