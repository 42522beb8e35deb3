using System.CommandLine;
using ProfileGrid.Recommendations.Evaluation;
using ProfileGrid.Recommendations.Import;
using Spectre.Console;

namespace ProfileGrid.Cli;

/// <summary>
/// <c>profilegrid evaluate</c>: import a ratings file, split it, train every named algorithm and print the metrics
/// side by side and per slice (see docs/recommendations-evaluation.md).
/// </summary>
internal static class EvaluateCommand
{
    public const int Ok = 0;
    public const int BadInput = 2;

    internal static readonly string[] Formats = ["movielens-100k", "movielens-1m", "movielens-csv", "netflix", "csv"];
    private static readonly string[] Splits = ["random", "time", "time-global"];

    public static Command Build(IAnsiConsole console)
    {
        var ratings = new Option<FileInfo>("--ratings") { Description = "The interaction file (u.data, ml-1m's ratings.dat, ratings.csv, Netflix Prize's combined_data_N.txt, or any CSV/TSV: see --columns, --names, --separator).", Required = true };
        var format = new Option<string?>("--format") { Description = "movielens-100k, movielens-1m, movielens-csv, netflix (Netflix Prize: 'MovieID:' lines, then CustomerID,Rating,Date) or csv; default: from the file name (u.data, ratings.dat, ratings.csv, combined_data_N.txt and mv_N.txt as netflix, else csv)." };
        format.AcceptOnlyFromAmong(Formats);
        var columns = new Option<string?>("--columns")
        {
            Description = "For --format csv: header names (or --names) as user=NAME,item=NAME[,rating=NAME][,timestamp=NAME][,event=NAME][,count=NAME]; count: how many events the line stands for (Last.fm's plays). Default user,item,rating,timestamp,event_type when present.",
        };
        var users = new Option<FileInfo?>("--users") { Description = "MovieLens u.user (user|age|gender|occupation|zip) or ml-1m's users.dat for demographic slices." };
        var algorithms = new Option<string?>("--algorithms") { Description = $"Comma-separated algorithms; default all registered ({string.Join(", ", TrainerRegistry.Names)})." };
        var k = new Option<int>("--k") { Description = "List length (the k of every @k metric).", DefaultValueFactory = _ => 10 };
        var split = new Option<string>("--split") { Description = "random (stratified per user), time (each user's latest items) or time-global (one cutoff).", DefaultValueFactory = _ => "random" };
        split.AcceptOnlyFromAmong(Splits);
        var ratio = new Option<double>("--ratio") { Description = "Share kept for training.", DefaultValueFactory = _ => 0.75 };
        var seed = new Option<int>("--seed") { Description = "Seed of the random split.", DefaultValueFactory = _ => 42 };
        var slice = new Option<string?>("--slice") { Description = $"Comma-separated slices: {string.Join(", ", SliceMaps.Known)}." };
        var minPositive = new Option<double>("--min-positive-rating")
        {
            Description = "Ratings below this (on --rating-scale) are dislikes: left out of training and of the held-out items. Default 0: every rating is positive, as in Microsoft Recommenders' MovieLens tables (the grid itself defaults to half the scale).",
            DefaultValueFactory = _ => 0,
        };

        var reading = new RatingsFileOptions();
        var ratingScale = new Option<double>("--rating-scale")
        {
            Description = "The top of the file's rating scale: a rating weighs its share of it (5 for MovieLens stars, 10 for Book-Crossing, whose 6 would otherwise weigh as a 10).",
            DefaultValueFactory = _ => 5,
        };
        var command = new Command("evaluate", "Compare recommender algorithms offline on a ratings file: precision, recall, nDCG, MAP, hit rate, coverage and novelty at k, overall and per slice.")
        {
            ratings, format, columns, users, algorithms, k, split, ratio, seed, slice, minPositive, ratingScale,
        };
        foreach (var option in reading.All)
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            var ratingsFile = parse.GetRequiredValue(ratings);
            var usersFile = parse.GetValue(users);
            var problems = new List<string>();
            if (!ratingsFile.Exists)
            {
                problems.Add($"--ratings: no such file {ratingsFile.FullName}");
            }

            if (usersFile is { Exists: false })
            {
                problems.Add($"--users: no such file {usersFile.FullName}");
            }

            var mapping = ParseColumns(parse.GetValue(columns), problems);
            var fileFormat = ParseFormat(parse.GetValue(format), ratingsFile.Name);
            var readOptions = reading.Parse(parse, problems);
            CheckReading(readOptions, fileFormat, problems);
            var request = new EvaluationRequest(
                ratingsFile.FullName,
                fileFormat,
                usersFile?.FullName,
                List(parse.GetValue(algorithms)) is { Count: > 0 } named ? named : TrainerRegistry.Names,
                parse.GetValue(k),
                new SplitOptions(
                    parse.GetValue(split) switch { "time" => SplitMethod.TimePerUser, "time-global" => SplitMethod.TimeGlobal, _ => SplitMethod.Random },
                    parse.GetValue(ratio),
                    parse.GetValue(seed)),
                List(parse.GetValue(slice)),
                mapping,
                parse.GetValue(minPositive),
                readOptions,
                parse.GetValue(ratingScale));
            problems.AddRange(request.Validate());
            if (problems.Count > 0)
            {
                foreach (var problem in problems)
                {
                    console.MarkupLineInterpolated($"[red]error:[/] {problem}");
                }

                return BadInput;
            }

            EvaluationOutcome outcome;
            try
            {
                outcome = RunWithProgress(console, request);
            }
            catch (InvalidDataException ex)
            {
                console.MarkupLineInterpolated($"[red]error:[/] {request.RatingsPath}: {ex.Message}");
                return BadInput;
            }

            if (outcome.Interactions.Summary.Accepted == 0)
            {
                // A table of zeros would read as a result; it is a file that was not read (a wrong --format, say).
                ReportPrinter.PrintImport(console, "ratings", outcome.Interactions.Summary, outcome.Interactions.Rejects);
                console.MarkupLineInterpolated($"[red]error:[/] {request.RatingsPath}: no line was accepted, so there is nothing to evaluate (read as {request.Format}; see the rejected lines above)");
                return BadInput;
            }

            ReportPrinter.Print(console, outcome, request.MinPositiveRating);
            return Ok;
        });
        return command;
    }

    private static EvaluationOutcome RunWithProgress(IAnsiConsole console, EvaluationRequest request)
    {
        EvaluationOutcome? outcome = null;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var import = context.AddTask("import");
                var tasks = request.Algorithms.ToDictionary(a => a, a => context.AddTask(a, autoStart: false));
                var gate = new object();
                outcome = EvaluationPipeline.Run(
                    request,
                    new CallbackProgress<ImportProgress>(p =>
                    {
                        if (p.TotalBytes is > 0 and var total)
                        {
                            import.MaxValue = total;
                            import.Value = p.BytesRead;
                        }
                    }),
                    new CallbackProgress<EvaluationProgress>(p =>
                    {
                        // Progress arrives from the recommending threads.
                        lock (gate)
                        {
                            import.Value = import.MaxValue;
                            var task = tasks[p.Algorithm];
                            task.Description = $"{p.Algorithm} ({p.Stage})";
                            task.MaxValue = Math.Max(1, p.Total);
                            task.Value = p.Done;
                            task.StartTask();
                        }
                    }));
                import.Value = import.MaxValue;
                foreach (var task in tasks.Values)
                {
                    task.Value = task.MaxValue;
                }
            });
        return outcome!;
    }

    internal static InteractionFileFormat ParseFormat(string? format, string fileName) => format switch
    {
        "movielens-100k" => InteractionFileFormat.MovieLens100k,
        "movielens-1m" => InteractionFileFormat.MovieLens1m,
        "movielens-csv" => InteractionFileFormat.MovieLensCsv,
        "netflix" => InteractionFileFormat.NetflixPrize,
        "csv" => InteractionFileFormat.Csv,
        _ when fileName.Equals("u.data", StringComparison.OrdinalIgnoreCase) || fileName.EndsWith(".data", StringComparison.OrdinalIgnoreCase) => InteractionFileFormat.MovieLens100k,
        _ when fileName.Equals("ratings.csv", StringComparison.OrdinalIgnoreCase) => InteractionFileFormat.MovieLensCsv,
        _ when fileName.EndsWith(".dat", StringComparison.OrdinalIgnoreCase) => InteractionFileFormat.MovieLens1m,
        _ when fileName.EndsWith(".txt", StringComparison.OrdinalIgnoreCase)
            && (fileName.StartsWith("combined_data", StringComparison.OrdinalIgnoreCase) || fileName.StartsWith("mv_", StringComparison.OrdinalIgnoreCase)) => InteractionFileFormat.NetflixPrize,
        _ => InteractionFileFormat.Csv,
    };

    /// <summary>Reading options that the format does not take, each added to <paramref name="problems"/>.</summary>
    internal static void CheckReading(ImportOptions reading, InteractionFileFormat format, List<string> problems)
    {
        if (reading.Names is not null && format != InteractionFileFormat.Csv)
        {
            problems.Add($"--names: for --format csv only (the file is read as {format}, whose columns are known)");
        }

        if (reading.Escape is not null && !reading.Quotes)
        {
            problems.Add("--escape: escapes a quote inside quotes, which --no-quotes does not have");
        }

        if (format == InteractionFileFormat.Csv)
        {
            return;
        }

        if (reading.Escape is not null)
        {
            problems.Add($"--escape: for --format csv only (the file is read as {format}, which has no quotes)");
        }

        if (!reading.Quotes && format != InteractionFileFormat.MovieLensCsv)
        {
            problems.Add($"--no-quotes: for --format csv only (the file is read as {format}, which has no quotes)");
        }

        if (reading.Separator is not null && format == InteractionFileFormat.MovieLens1m)
        {
            problems.Add("--separator: not for --format movielens-1m, which is '::'-separated");
        }
    }

    internal static ColumnMapping? ParseColumns(string? text, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var pairs = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in List(text))
        {
            var at = part.IndexOf('=');
            var key = at > 0 ? part[..at].Trim() : "";
            if (at <= 0 || at == part.Length - 1 || key is not ("user" or "item" or "rating" or "timestamp" or "event" or "count"))
            {
                problems.Add($"--columns: '{part}' is not one of user=, item=, rating=, timestamp=, event=, count= followed by a header name");
                continue;
            }

            pairs[key] = part[(at + 1)..].Trim();
        }

        if (!pairs.ContainsKey("user") || !pairs.ContainsKey("item"))
        {
            problems.Add("--columns: user= and item= are required");
            return null;
        }

        return new ColumnMapping(pairs["user"], pairs["item"], pairs.GetValueOrDefault("rating"), pairs.GetValueOrDefault("timestamp"), pairs.GetValueOrDefault("event"), pairs.GetValueOrDefault("count"));
    }

    private static IReadOnlyList<string> List(string? text) =>
        (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to a synchronisation context the CLI lacks).</summary>
    private sealed class CallbackProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
