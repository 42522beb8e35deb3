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
        activity.AppendStarted();
        clock.Advance(TimeSpan.FromMilliseconds(300));
        Assert.False(activity.IsQuiet);
        activity.AppendEnded();

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
        activity.AppendStarted();
        activity.AppendStarted();
        activity.AppendEnded();
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.False(activity.IsQuiet);
        Assert.Equal(TimeSpan.Zero, activity.QuietFor);

        activity.AppendEnded();
        Assert.False(activity.IsQuiet);
        clock.Advance(Spell);
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
