using System.CommandLine;
using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using ProfileGrid.Contracts.V1;
using Spectre.Console;
using Profile = ProfileGrid.Contracts.V1.Profile;

namespace ProfileGrid.Cli.Export;

/// <summary>
/// <c>profilegrid export profiles|segments</c>: a tenant's profiles (whole in JSONL, flattened in CSV and Parquet) or
/// its segments and each user's assignment, read from a running grid through its public API (ListProfiles, a page at a
/// time, every page evaluated at the first page's instant).
/// </summary>
/// <remarks>
/// Through the public gRPC API rather than as an Orleans client: a page of profiles is one call that the silo answers by
/// reading the page's profile grains in parallel inside the cluster, so the client's share is one round trip per page;
/// the file then holds exactly what GetProfile answers (the same view and mapping); and an export needs no access to
/// the cluster's network, only to the gateway an analyst can reach anyway. An Orleans client would save only the
/// protobuf mapping, and would need the cluster's membership storage and silo ports.
/// </remarks>
internal static class ExportCommand
{
    private const int MaxAttempts = 10;

    public static Command Build(IAnsiConsole console) =>
        new("export", "Write a tenant's profiles or segments to a JSONL, CSV or Parquet file (docs/export.md).")
        {
            Profiles(console),
            Segments(console),
        };

    private static Command Profiles(IAnsiConsole console)
    {
        var options = new SharedOptions();
        var command = new Command("profiles", "Every profile of the tenant: whole in JSONL, its layers flattened into columns in CSV and Parquet.");
        options.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!options.TryRead(parse, console, out var request))
            {
                return EvaluateCommand.BadInput;
            }

            var clock = Stopwatch.StartNew();
            using var connection = KeysCommand.Connect(request.Grid, request.ApiKey);
            long written = 0;
            try
            {
                var expected = await UsersWithFeaturesAsync(connection, request.Tenant, cancellationToken);
                using var file = new ReplacedWhenDone(request.Out);
                await using (var writer = await TableWriter<Profile>.CreateAsync(request.Format, file.Partial, ProfileColumns.All, RestJson.Format))
                {
                    await console.Progress().StartAsync(async progress =>
                    {
                        var task = progress.AddTask("exporting profiles", maxValue: Math.Max(expected, 1));
                        task.IsIndeterminate = expected == 0;
                        await foreach (var profile in ListAllAsync(connection, request, cancellationToken))
                        {
                            await writer.WriteAsync(profile);
                            written++;
                            task.Value = Math.Min(written, task.MaxValue);
                        }

                        task.Value = task.MaxValue;
                    });
                }

                file.Done();
            }
            catch (RpcException ex)
            {
                console.MarkupLineInterpolated($"[red]error:[/] {GrpcErrors.Describe(ex)}");
                return 1;
            }

            console.MarkupLineInterpolated($"{written:N0} profiles of tenant '{request.Tenant}' written to {request.Out} ({request.Format.ToString().ToLowerInvariant()}) in {clock.Elapsed.TotalSeconds:F1} s");
            return EvaluateCommand.Ok;
        });
        return command;
    }

    private static Command Segments(IAnsiConsole console)
    {
        var options = new SharedOptions();
        var command = new Command(
            "segments",
            "The published model's segments (to FILE's name with .segments before the extension) and every user's assignment (to FILE).");
        options.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!options.TryRead(parse, console, out var request))
            {
                return EvaluateCommand.BadInput;
            }

            using var connection = KeysCommand.Connect(request.Grid, request.ApiKey);
            var segmentsFile = SegmentsFileFor(request.Out);
            long assignments = 0, assigned = 0;
            SegmentsResponse model;
            try
            {
                model = await RetriedAsync(() => new SegmentService.SegmentServiceClient(connection.Calls).ListSegmentsAsync(new ListSegmentsRequest { Tenant = request.Tenant }, cancellationToken: cancellationToken).ResponseAsync, cancellationToken);
                using var segmentsOut = new ReplacedWhenDone(segmentsFile);
                await using (var segments = await TableWriter<(long, Segment)>.CreateAsync(request.Format, segmentsOut.Partial, SegmentColumns.All))
                {
                    foreach (var segment in model.Segments)
                    {
                        await segments.WriteAsync((model.ModelVersion, segment));
                    }
                }

                using var file = new ReplacedWhenDone(request.Out);
                await using (var writer = await TableWriter<SegmentAssignment>.CreateAsync(request.Format, file.Partial, AssignmentColumns.All))
                {
                    await console.Progress().StartAsync(async progress =>
                    {
                        var task = progress.AddTask("exporting assignments", maxValue: Math.Max(model.UsersWithFeatures, 1));
                        task.IsIndeterminate = model.UsersWithFeatures == 0;
                        await foreach (var profile in ListAllAsync(connection, request, cancellationToken))
                        {
                            await writer.WriteAsync(new SegmentAssignment(profile.Tenant, profile.UserId, profile.Segment));
                            assignments++;
                            assigned += profile.Segment is null ? 0 : 1;
                            task.Value = Math.Min(assignments, task.MaxValue);
                        }

                        task.Value = task.MaxValue;
                    });
                }

                segmentsOut.Done();
                file.Done();
            }
            catch (RpcException ex)
            {
                console.MarkupLineInterpolated($"[red]error:[/] {GrpcErrors.Describe(ex)}");
                return 1;
            }

            console.MarkupLineInterpolated($"{model.Segments.Count} segments of model {model.ModelVersion} written to {segmentsFile}");
            console.MarkupLineInterpolated($"{assignments:N0} users written to {request.Out}, {assigned:N0} of them assigned to a segment");
            if (model.ModelVersion == 0)
            {
                console.MarkupLine("[yellow]no segmentation model yet:[/] run one (POST /v1/tenants/{tenant}/segments:run) for segments and assignments");
            }

            return EvaluateCommand.Ok;
        });
        return command;
    }

    /// <summary>"out/assignments.csv" gives "out/assignments.segments.csv".</summary>
    internal static string SegmentsFileFor(string path) =>
        Path.Combine(Path.GetDirectoryName(path) ?? string.Empty, Path.GetFileNameWithoutExtension(path) + ".segments" + Path.GetExtension(path));

    private static async Task<long> UsersWithFeaturesAsync(GridConnection connection, string tenant, CancellationToken cancellationToken)
    {
        // Only for the progress bar's length: the listing itself decides what is exported.
        var overview = await RetriedAsync(() => new SegmentService.SegmentServiceClient(connection.Calls).ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant }, cancellationToken: cancellationToken).ResponseAsync, cancellationToken);
        return overview.UsersWithFeatures;
    }

    /// <summary>
    /// Every profile of the tenant, page after page; the next page is asked for while the current one is written, and a
    /// page answered Unavailable (a silo leaving) is asked again.
    /// </summary>
    private static async IAsyncEnumerable<Profile> ListAllAsync(
        GridConnection connection, ExportRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var client = new ProfileGateway.ProfileGatewayClient(connection.Calls);
        var page = new ListProfilesRequest { Tenant = request.Tenant, PageSize = request.PageSize, AsOf = request.AsOf ?? string.Empty };
        var next = PageAsync(client, page, cancellationToken);
        while (next is not null)
        {
            var response = await next;
            next = null;
            if (response.NextPageToken.Length > 0)
            {
                // Every page at the first page's instant, so that windows and recency in the file are comparable.
                page = new ListProfilesRequest
                {
                    Tenant = request.Tenant, PageSize = request.PageSize, PageToken = response.NextPageToken,
                    AsOf = page.AsOf.Length > 0 ? page.AsOf : response.Profiles.FirstOrDefault()?.AsOf ?? string.Empty,
                };
                next = PageAsync(client, page, cancellationToken);
            }

            foreach (var profile in response.Profiles)
            {
                yield return profile;
            }
        }
    }

    private static Task<ListProfilesResponse> PageAsync(ProfileGateway.ProfileGatewayClient client, ListProfilesRequest request, CancellationToken cancellationToken) =>
        RetriedAsync(() => client.ListProfilesAsync(request, cancellationToken: cancellationToken).ResponseAsync, cancellationToken);

    /// <summary>
    /// A call answered Unavailable (a silo leaving the cluster) is made again, up to ten attempts: every call of an export,
    /// not only its pages (an outside run had exports fail on the segment overview within a second of a silo's kill).
    /// </summary>
    private static async Task<T> RetriedAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && attempt < MaxAttempts)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken);
            }
        }
    }

    private sealed record ExportRequest(Uri Grid, string Tenant, ExportFormat Format, string Out, int PageSize, string? AsOf, string? ApiKey = null);

    /// <summary>The options both exports take.</summary>
    private sealed class SharedOptions
    {
        private readonly Option<string> _grid = new("--grid") { Description = "The grid's gRPC address, e.g. http://127.0.0.1:7070.", Required = true };
        private readonly Option<string> _tenant = new("--tenant") { Description = "The tenant to export.", Required = true };
        private readonly Option<string?> _format = new("--format") { Description = "jsonl, csv or parquet; default: from the --out file's extension." };
        private readonly Option<FileInfo> _out = new("--out") { Description = "The file to write (replaced if it exists).", Required = true };
        private readonly Option<int> _pageSize = new("--page-size") { Description = "Profiles per request (1-500).", DefaultValueFactory = _ => 200 };
        private readonly (Option<string?> Key, Option<FileInfo?> KeyFile) _keys = KeysCommand.KeyOptions("read");
        private readonly Option<string?> _asOf = new("--as-of") { Description = "Evaluate every profile as of this ISO-8601 instant (default: now, when the export starts)." };

        public SharedOptions() => _format.AcceptOnlyFromAmong("jsonl", "csv", "parquet");

        public void AddTo(Command command)
        {
            command.Options.Add(_grid);
            command.Options.Add(_tenant);
            command.Options.Add(_format);
            command.Options.Add(_out);
            command.Options.Add(_pageSize);
            command.Options.Add(_asOf);
            command.Options.Add(_keys.Key);
            command.Options.Add(_keys.KeyFile);
        }

        public bool TryRead(ParseResult parse, IAnsiConsole console, out ExportRequest request)
        {
            var problems = new List<string>();
            var grid = parse.GetRequiredValue(_grid);
            if (!Uri.TryCreate(grid, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
            {
                problems.Add($"--grid: an http(s) address such as http://127.0.0.1:7070 ('{grid}')");
            }

            var file = parse.GetRequiredValue(_out);
            ExportFormat? format = (parse.GetValue(_format) ?? file.Extension.TrimStart('.').ToLowerInvariant()) switch
            {
                "jsonl" or "ndjson" => ExportFormat.Jsonl,
                "csv" => ExportFormat.Csv,
                "parquet" => ExportFormat.Parquet,
                _ => null,
            };
            if (format is null)
            {
                problems.Add($"--format: jsonl, csv or parquet (the extension of {file.Name} does not say)");
            }

            if (file.Directory is { Exists: false } folder)
            {
                problems.Add($"--out: no such folder {folder.FullName}");
            }

            var pageSize = parse.GetValue(_pageSize);
            if (pageSize is < 1 or > 500)
            {
                problems.Add($"--page-size: between 1 and 500 ({pageSize})");
            }

            foreach (var problem in problems)
            {
                console.MarkupLineInterpolated($"[red]error:[/] {problem}");
            }

            request = new ExportRequest(address!, parse.GetRequiredValue(_tenant), format ?? ExportFormat.Csv, file.FullName, pageSize, parse.GetValue(_asOf),
                KeysCommand.ResolveKey(parse.GetValue(_keys.Key), parse.GetValue(_keys.KeyFile)));
            return problems.Count == 0;
        }
    }
}

/// <summary>
/// An export file written beside its name (<c>FILE.partial</c>) and moved over it only when every row is in: an export
/// that fails midway leaves the previous file as it was, not half of one that a job could load without noticing (probe72).
/// </summary>
internal sealed class ReplacedWhenDone(string path) : IDisposable
{
    private bool _done;

    public string Partial { get; } = path + ".partial";

    public void Done()
    {
        File.Move(Partial, path, overwrite: true);
        _done = true;
    }

    public void Dispose()
    {
        if (!_done)
        {
            File.Delete(Partial);
        }
    }
}
