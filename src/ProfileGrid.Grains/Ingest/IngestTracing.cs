using System.Diagnostics;

namespace ProfileGrid.Grains.Ingest;

/// <summary>
/// Spans of the log path that no grain call makes (activity source <see cref="SourceName"/>). A log record is dispatched
/// after the requests that appended it were acknowledged, from the partition's own pump, so Orleans' call propagation
/// alone would hang every dispatch under whichever request started the pump. Instead each append keeps its caller's
/// context, and the dispatch of a record is a span whose parent is the first of its appends and which links the others
/// (a group commit joins several requests into one record). Nothing is allocated unless a listener samples the source.
/// </summary>
public static class IngestTracing
{
    public const string SourceName = "ProfileGrid.Ingest";

    private static readonly ActivitySource Source = new(SourceName);

    /// <summary>The caller's span context, kept with an append (default when nothing traces it).</summary>
    public static ActivityContext Capture() => Activity.Current?.Context ?? default;

    /// <summary>
    /// Starts the dispatch span of the record at <paramref name="position"/>: a child of the first traced append, linked to
    /// the others; a root span for a replay. Null when no listener samples it.
    /// </summary>
    public static Activity? StartDispatch(int partition, long position, ActivityContext[]? appends, bool replay)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        ActivityContext parent = default;
        List<ActivityLink>? links = null;
        foreach (var context in appends ?? [])
        {
            if (context == default)
            {
                continue;
            }

            if (parent == default)
            {
                parent = context;
            }
            else
            {
                (links ??= []).Add(new ActivityLink(context));
            }
        }

        var activity = Source.StartActivity("dispatch log record", ActivityKind.Internal, parent, links: links);
        activity?.SetTag("profilegrid.log.partition", partition);
        activity?.SetTag("profilegrid.log.position", position);
        if (replay)
        {
            activity?.SetTag("profilegrid.log.replay", true);
        }

        return activity;
    }

    /// <summary>Whether anything listens: only then do appends keep their contexts.</summary>
    public static bool Enabled => Source.HasListeners();
}
