using System.Globalization;
using ProfileGrid.Recommendations.Evaluation;
using ProfileGrid.Recommendations.Import;
using Spectre.Console;

namespace ProfileGrid.Cli;

/// <summary>Prints an evaluation's outcome: what was imported and rejected, the split, and the metric tables.</summary>
internal static class ReportPrinter
{
    private const int RejectsShown = 10;

    public static void Print(IAnsiConsole console, EvaluationOutcome outcome, double minPositiveRating = 0)
    {
        PrintImport(console, "ratings", outcome.Interactions.Summary, outcome.Interactions.Rejects);
        if (outcome.Users is { } users)
        {
            PrintImport(console, "users", users.Summary, users.Rejects);
        }

        var report = outcome.Report;
        var split = report.Split;
        console.MarkupLineInterpolated(
            $"split: [bold]{split.Method}[/] ratio {split.Ratio.ToString(CultureInfo.InvariantCulture)}{(split.Method == nameof(SplitMethod.Random) ? $" seed {split.Seed}" : "")}: train {split.TrainUsers} users × {split.TrainItems} items ({split.TrainPairs} pairs), test {split.TestUsers} users ({split.HeldOutPairs} held-out pairs), {split.TrainOnlyUsers} users too small to split");
        if (minPositiveRating > 0)
        {
            console.MarkupLineInterpolated($"ratings below {minPositiveRating.ToString(CultureInfo.InvariantCulture)} are dislikes: left out of training and of the held-out items");
        }
        else
        {
            console.MarkupLine("ratings: every rating counts as positive, as in Microsoft Recommenders' tables (--min-positive-rating treats low ones as dislikes)");
        }

        console.WriteLine();

        var table = new Table().Border(TableBorder.Simple).Title($"top-{report.K}, seen items removed");
        table.AddColumn("algorithm");
        foreach (var name in MetricSet.Names)
        {
            table.AddColumn(new TableColumn(name).RightAligned());
        }

        table.AddColumn(new TableColumn("users").RightAligned());
        foreach (var algorithm in report.Algorithms)
        {
            var cells = new List<string> { algorithm.Algorithm };
            cells.AddRange(MetricSet.Names.Select(n => Format(algorithm.Metrics.Get(n))));
            cells.Add(algorithm.Metrics.UsersRecommended == algorithm.Metrics.Users
                ? algorithm.Metrics.Users.ToString(CultureInfo.InvariantCulture)
                : $"{algorithm.Metrics.UsersRecommended}/{algorithm.Metrics.Users}");
            table.AddRow(cells.Select(Markup.Escape).ToArray());
        }

        console.Write(table);
        console.MarkupLineInterpolated(
            $"time: {string.Join(", ", report.Algorithms.Select(a => $"{a.Algorithm} train {Seconds(a.TrainTime)} recommend {Seconds(a.RecommendTime)}"))}");
        console.MarkupLine("users: with a list / with held-out items (precision, recall, MAP and hit rate average over the first; nDCG over the second)");

        foreach (var slices in report.Slices.GroupBy(s => s.Slice))
        {
            var sliceTable = new Table().Border(TableBorder.Simple).Title($"by {slices.Key}");
            sliceTable.AddColumn("algorithm");
            sliceTable.AddColumn("group");
            sliceTable.AddColumn(new TableColumn("users").RightAligned());
            foreach (var name in MetricSet.Names)
            {
                sliceTable.AddColumn(new TableColumn(name).RightAligned());
            }

            foreach (var slice in slices)
            {
                foreach (var group in slice.Groups)
                {
                    var cells = new List<string> { slice.Algorithm, group.Group, group.Metrics.Users.ToString(CultureInfo.InvariantCulture) };
                    cells.AddRange(MetricSet.Names.Select(n => Format(group.Metrics.Get(n))));
                    sliceTable.AddRow(cells.Select(Markup.Escape).ToArray());
                }

                var ratio = new List<string> { slice.Algorithm, "min/max", "" };
                ratio.AddRange(MetricSet.Names.Select(n => slice.Spreads.FirstOrDefault(s => s.Metric == n)?.Ratio is { } r ? Format(r) : "-"));
                sliceTable.AddRow(ratio.Select(c => $"[bold]{Markup.Escape(c)}[/]").ToArray());
            }

            console.WriteLine();
            console.Write(sliceTable);
        }
    }

    internal static void PrintImport(IAnsiConsole console, string what, ImportSummary summary, IReadOnlyList<RejectedLine> rejects)
    {
        console.MarkupLineInterpolated(
            $"{what}: {summary.LinesRead} lines read, {summary.Accepted} accepted ({summary.Duplicates} duplicates), {summary.Rejected} rejected, {summary.BlankLines} blank{(summary.ItemLines > 0 ? $", {summary.ItemLines} naming an item" : "")}; {summary.Users} users, {summary.Items} items");
        foreach (var reject in rejects.Take(RejectsShown))
        {
            console.MarkupLineInterpolated($"  [yellow]line {reject.Line}:[/] {reject.Reason}");
        }

        if (summary.Rejected > RejectsShown)
        {
            console.MarkupLineInterpolated($"  ... and {summary.Rejected - RejectsShown} more rejected lines");
        }
    }

    private static string Format(double value) => value.ToString("0.000", CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.00s", CultureInfo.InvariantCulture);
}
