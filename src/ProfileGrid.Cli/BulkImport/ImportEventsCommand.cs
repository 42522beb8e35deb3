using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using nietras.SeparatedValues;
using ProfileGrid.Contracts.V1;
using Spectre.Console;

namespace ProfileGrid.Cli.BulkImport;

/// <summary>
/// <c>profilegrid import-events</c>: a CSV or JSONL export (orders, clickstream) cleaned by a mapping file and loaded
/// into a running grid as historical events through the public gRPC API; rejects to a file by line, a summary, and a
/// progress file so that a killed run resumes where the grid last acknowledged (docs/import.md).
/// </summary>
/// <remarks>
/// Through the public API rather than as an Orleans client: an order event carries its many lines, so the grid's ingest
/// (tens of thousands of events per second on two cores) is far from the limit at the rows per second a file gives, and
/// the gateway's validation, rejects by index and durability (acknowledged = in the log) come for free.
/// </remarks>
internal static class ImportEventsCommand
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadInput = 2;

    /// <summary>The file had rows and every one was rejected: a scheduled import must not read as a success.</summary>
    public const int NothingImported = 3;

    /// <summary>Lines per request, besides the event count.</summary>
    private const int MaxLinesPerRequest = 20_000;

    /// <summary>
    /// Bytes per request, besides the event and line counts: under the gateway's default 4 MiB
    /// (ProfileGrid:Gateway:MaxRequestBytes) with room to spare. Lines alone did not bound it (probe54: 120 orders of 200
    /// lines with ids of 240 characters made 12.7 MB requests, refused on every run).
    /// </summary>
    public const int MaxBytesPerRequest = 3 << 20;

    public static Command Build(IAnsiConsole console)
    {
        var grid = new Option<string>("--grid") { Description = "The grid's gRPC address, e.g. http://127.0.0.1:7070.", Required = true };
        var tenant = new Option<string>("--tenant") { Description = "The tenant to load into.", Required = true };
        var file = new Option<FileInfo>("--file") { Description = "The export: CSV or JSONL as the mapping says.", Required = true };
        var mapping = new Option<FileInfo>("--mapping") { Description = "The mapping file (JSON; docs/import.md, examples/import/).", Required = true };
        var rejects = new Option<FileInfo?>("--rejects") { Description = "Where the rows not imported go (CSV: line,field,reason,code); default FILE.rejects.csv." };
        var state = new Option<FileInfo?>("--state") { Description = "The progress file; default FILE.import-state.json. A run resumes from it." };
        var summaryJson = new Option<FileInfo?>("--summary-json") { Description = "Also write the summary as JSON here." };
        var batch = new Option<int>("--batch") { Description = "Events per ingest request.", DefaultValueFactory = _ => 500 };
        var parallel = new Option<int>("--parallel") { Description = "Requests in flight.", DefaultValueFactory = _ => 4 };
        var (key, keyFile) = KeysCommand.KeyOptions("ingest");
        var restart = new Option<bool>("--restart") { Description = "Ignore the progress file and send every event again (changes nothing already applied)." };

        var command = new Command("import-events", "Load a CSV or JSONL export (orders, returns, clickstream) into a grid as historical events, cleaned by a mapping file; rejects by line, resumable.")
        {
            grid, tenant, file, mapping, rejects, state, summaryJson, batch, parallel, restart, key, keyFile,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var input = parse.GetRequiredValue(file);
            var mappingFile = parse.GetRequiredValue(mapping);
            var problems = new List<string>();
            if (!input.Exists)
            {
                problems.Add($"--file: no such file {input.FullName}");
            }

            if (!mappingFile.Exists)
            {
                problems.Add($"--mapping: no such file {mappingFile.FullName}");
            }

            if (parse.GetValue(batch) is < 1 or > 1000)
            {
                problems.Add($"--batch: between 1 and 1000 ({parse.GetValue(batch)})");
            }

            if (parse.GetValue(parallel) is < 1 or > 64)
            {
                problems.Add($"--parallel: between 1 and 64 ({parse.GetValue(parallel)})");
            }

            if (!Uri.TryCreate(parse.GetRequiredValue(grid), UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
            {
                problems.Add($"--grid: an http(s) address such as http://127.0.0.1:7070 ('{parse.GetRequiredValue(grid)}')");
            }

            ImportMapping? map = null;
            var mappingHash = "";
            if (mappingFile.Exists)
            {
                try
                {
                    (map, mappingHash) = ImportMapping.Load(mappingFile.FullName);
                }
                catch (InvalidDataException ex)
                {
                    problems.Add($"--mapping: {ex.Message}");
                }
            }

            if (problems.Count > 0)
            {
                foreach (var problem in problems)
                {
                    console.MarkupLineInterpolated($"[red]error:[/] {problem}");
                }

                return BadInput;
            }

            var clock = Stopwatch.StartNew();
            ImportPlan plan;
            try
            {
                plan = new ImportPlanner(map!).Plan(input.FullName, cancellationToken);
            }
            catch (InvalidDataException ex)
            {
                console.MarkupLineInterpolated($"[red]error:[/] {input.Name}: {ex.Message}");
                return BadInput;
            }

            var planned = clock.Elapsed;
            var tenantName = parse.GetRequiredValue(tenant);
            var statePath = parse.GetValue(state)?.FullName ?? input.FullName + ".import-state.json";
            var fingerprint = ImportState.FingerprintOf(input.FullName, mappingHash, tenantName);
            var previous = parse.GetValue(restart) ? null : ImportState.Read(statePath);
            var resume = previous is { Completed: false } && previous.Fingerprint == fingerprint && previous.EventsTotal == plan.Events.Count
                ? previous : null;
            if (previous is { EventsAcknowledged: > 0, MappingHash: { } earlierMapping } && earlierMapping != mappingHash
                && string.Equals(previous.Tenant, tenantName, StringComparison.Ordinal))
            {
                // Events are immutable once acknowledged: a corrected mapping cannot correct them (docs/import.md).
                console.MarkupLineInterpolated(
                    $"[yellow]warning:[/] this file was imported into tenant '{tenantName}' before under another mapping. Events the grid acknowledged stay as they were: rows this mapping gives other event ids count a second time, and orders it reads differently change nothing. To import the file afresh, use a new tenant (docs/import.md, \"Fixing a mapping after an import\").");
            }

            if (previous is { Completed: false } && resume is null)
            {
                console.MarkupLineInterpolated($"[yellow]{statePath}[/] is of another file, mapping or tenant: starting from the first event");
            }
            else if (resume is not null)
            {
                console.MarkupLineInterpolated($"resuming after event {resume.EventsAcknowledged:N0} of {plan.Events.Count:N0} (line {resume.LastLineAcknowledged:N0} acknowledged)");
            }

            var sender = new Sender(plan, tenantName, statePath, fingerprint, mappingHash, resume, parse.GetValue(batch), parse.GetValue(parallel));
            var outcome = Failed;
            string? failure = null;
            var failedWith = StatusCode.OK;
            using (var connection = KeysCommand.Connect(address!, KeysCommand.ResolveKey(parse.GetValue(key), parse.GetValue(keyFile)), maxSendMessageSize: 16 << 20))
            {
                var client = new ProfileGateway.ProfileGatewayClient(connection.Calls);
                if (await TenantRefusalAsync(client, tenantName, cancellationToken) is { } refusal)
                {
                    // Refused once, up front, rather than as every row's "grid" reject (probe57).
                    console.MarkupLineInterpolated($"[red]error:[/] --tenant: the grid refuses it: {refusal}. Nothing was sent.");
                    return BadInput;
                }

                try
                {
                    await console.Progress()
                        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                        .StartAsync(async progress =>
                        {
                            var task = progress.AddTask("sending events", maxValue: Math.Max(1, plan.Events.Count));
                            task.Value = sender.Acknowledged;
                            await sender.RunAsync(client, done => task.Value = done, cancellationToken);
                            task.Value = task.MaxValue;
                        });
                    outcome = Ok;
                }
                catch (RpcException ex)
                {
                    failure = GrpcErrors.Describe(ex);
                    failedWith = ex.StatusCode;
                }
            }

            clock.Stop();
            var allRejects = plan.Rejects.Concat(sender.GridRejects).OrderBy(r => r.Line).ToList();
            var rejectsPath = parse.GetValue(rejects)?.FullName ?? input.FullName + ".rejects.csv";
            WriteRejects(rejectsPath, allRejects);
            var seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-6);
            var summary = new ImportSummaryJson
            {
                File = input.FullName,
                Tenant = tenantName,
                RowsRead = plan.RowsRead,
                RowsImported = plan.RowsImported - sender.GridRejects.Count,
                BlankLines = plan.BlankLines,
                DuplicatesDropped = plan.Duplicates,
                RowsRejected = allRejects.Count,
                RejectedByReason = allRejects.GroupBy(r => r.Code).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count()),
                Warnings = plan.Warnings,
                WarningUnits = plan.WarningUnits,
                EventsPlanned = plan.Events.Count,
                RefundEvents = plan.RefundEvents,
                ResumedFromEvent = resume?.EventsAcknowledged ?? 0,
                EventsSent = sender.Sent,
                EventsAcknowledged = sender.AcknowledgedThisRun,
                EventsRejectedByGrid = sender.GridRejectedEvents,
                Completed = outcome == Ok,
                Seconds = Math.Round(seconds, 3),
                PlanningSeconds = Math.Round(planned.TotalSeconds, 3),
                RowsPerSecond = Math.Round(plan.RowsRead / seconds),
                EventsPerSecond = Math.Round(sender.AcknowledgedThisRun / seconds),
                RejectsFile = rejectsPath,
            };
            PrintSummary(console, summary);
            if (parse.GetValue(summaryJson) is { } json)
            {
                File.WriteAllBytes(json.FullName, JsonSerializer.SerializeToUtf8Bytes(summary, MappingJson.Default.ImportSummaryJson));
            }

            if (failure is not null)
            {
                console.MarkupLineInterpolated($"[red]error:[/] {failure}; {GrpcErrors.ImportAdvice(failedWith, sender.Acknowledged)}");
            }
            else if (summary.RowsRead > 0 && summary.RowsImported <= 0)
            {
                console.MarkupLineInterpolated($"[red]error:[/] none of the {summary.RowsRead:N0} rows could be imported; the reasons are in {rejectsPath} and above");
                return NothingImported;
            }

            return outcome;
        });
        return command;
    }

    private static void WriteRejects(string path, IReadOnlyList<ImportReject> rejects)
    {
        if (rejects.Count == 0)
        {
            File.WriteAllText(path, "line,field,reason,code\n"); // Sep writes the header with the first row
            return;
        }

        using var writer = Sep.New(',').Writer(o => o with { Escape = true }).ToFile(path);

        foreach (var reject in rejects)
        {
            using var row = writer.NewRow();
            row["line"].Set(reject.Line.ToString(CultureInfo.InvariantCulture));
            row["field"].Set(reject.Field);
            row["reason"].Set(reject.Reason);
            row["code"].Set(reject.Code);
        }
    }

    private static void PrintSummary(IAnsiConsole console, ImportSummaryJson s)
    {
        var table = new Table().Border(TableBorder.Simple).Title("import summary");
        table.AddColumn("");
        table.AddColumn(new TableColumn("").RightAligned());
        void Row(string name, string value) => table.AddRow(Markup.Escape(name), Markup.Escape(value));
        Row("rows read", s.RowsRead.ToString("N0", CultureInfo.InvariantCulture));
        Row("rows imported", s.RowsImported.ToString("N0", CultureInfo.InvariantCulture));
        Row("duplicates dropped", s.DuplicatesDropped.ToString("N0", CultureInfo.InvariantCulture));
        Row("rows rejected", s.RowsRejected.ToString("N0", CultureInfo.InvariantCulture));
        foreach (var (reason, count) in s.RejectedByReason)
        {
            Row("  " + reason, count.ToString("N0", CultureInfo.InvariantCulture));
        }

        Row("events planned", s.EventsPlanned.ToString("N0", CultureInfo.InvariantCulture));
        Row("  refunds", s.RefundEvents.ToString("N0", CultureInfo.InvariantCulture));
        Row("events acknowledged (this run)", s.EventsAcknowledged.ToString("N0", CultureInfo.InvariantCulture));
        if (s.ResumedFromEvent > 0)
        {
            Row("resumed after event", s.ResumedFromEvent.ToString("N0", CultureInfo.InvariantCulture));
        }

        Row("events rejected by the grid", s.EventsRejectedByGrid.ToString("N0", CultureInfo.InvariantCulture));
        Row("time", $"{s.Seconds.ToString("0.00s", CultureInfo.InvariantCulture)} (reading and cleaning {s.PlanningSeconds.ToString("0.00s", CultureInfo.InvariantCulture)})");
        Row("rows/s", s.RowsPerSecond.ToString("N0", CultureInfo.InvariantCulture));
        Row("events/s", s.EventsPerSecond.ToString("N0", CultureInfo.InvariantCulture));
        console.Write(table);
        foreach (var (warning, count) in s.Warnings)
        {
            console.MarkupLineInterpolated($"[yellow]warning:[/] {warning} ({count:N0} {s.WarningUnits.GetValueOrDefault(warning, "rows")})");
        }

        console.MarkupLineInterpolated($"rejects: {s.RejectsFile}");
        console.MarkupLine("acknowledged means durably recorded by the grid; an event a profile already has (an earlier run's) changes nothing there.");
    }

    /// <summary>
    /// The grid's reason for refusing <paramref name="tenant"/> (too long, empty, a dot segment...), asked with a read of a
    /// user nobody has; null when the tenant is accepted, or the read says nothing about it (a key without read scope).
    /// </summary>
    private static async Task<string?> TenantRefusalAsync(ProfileGateway.ProfileGatewayClient client, string tenant, CancellationToken cancellationToken)
    {
        try
        {
            await client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "profilegrid-import-tenant-check" }, cancellationToken: cancellationToken);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.InvalidArgument && ex.Status.Detail.StartsWith("tenant:", StringComparison.Ordinal))
        {
            return ex.Status.Detail;
        }
        catch (RpcException)
        {
            // Not found (the usual answer), or a key that may only ingest: the sending says what is wrong, if anything.
        }

        return null;
    }

    /// <summary>
    /// Sends the planned events from the resume point in batches, several in flight, and advances the progress file over
    /// the unbroken prefix of acknowledged batches (a batch acknowledged out of order waits for those before it).
    /// </summary>
    private sealed class Sender(ImportPlan plan, string tenant, string statePath, string fingerprint, string mappingHash, ImportState? resume, int batchSize, int parallel)
    {
        private readonly object _gate = new();
        private readonly List<ImportReject> _gridRejects = [.. resume?.GridRejects ?? []];
        private int _acknowledged = resume?.EventsAcknowledged ?? 0;

        public int Acknowledged => _acknowledged;
        public long AcknowledgedThisRun { get; private set; }
        public long Sent { get; private set; }
        public long GridRejectedEvents { get; private set; }
        public IReadOnlyList<ImportReject> GridRejects => _gridRejects;

        public async Task RunAsync(ProfileGateway.ProfileGatewayClient client, Action<int> progress, CancellationToken cancellationToken)
        {
            var batches = new List<(int Start, int End)>();
            for (int start = _acknowledged, end; start < plan.Events.Count; start = end)
            {
                var (lines, bytes) = (0, 0);
                for (end = start; end < plan.Events.Count && end - start < batchSize; end++)
                {
                    var size = EventBytes(plan.Events[end].Event);
                    if (end > start && (lines + plan.Events[end].Lines.Count > MaxLinesPerRequest || bytes + size > MaxBytesPerRequest))
                    {
                        break;
                    }

                    (lines, bytes) = (lines + plan.Events[end].Lines.Count, bytes + size);
                }

                batches.Add((start, end));
            }

            var done = new bool[batches.Count];
            var next = 0;
            using var slots = new SemaphoreSlim(parallel);
            var running = new List<Task>();

            // A batch with a login (the first event that pairs a user id with an anonymous id) is sent once the batch of the
            // login before it is answered, and so is every batch after it (a repeat of its pair must not arrive first): who
            // claims a shared device first decides whose history it joins, and racing requests made that differ from run to
            // run (probe71: the same file gave two identity graphs). Repeats of a pair already claimed hold nothing up
            // (review73: on a clickstream nearly every row carries both ids); batches between two logins run alongside.
            var firstLogins = FirstLogins();
            Task previousLogins = Task.CompletedTask;

            // The first batch that fails for good (its retries spent: the grid is down, or refuses the request) stops the
            // run: the batches in flight are cancelled and no more are sent, rather than each trying for itself in turn.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Exception? failure = null;
            for (var b = 0; b < batches.Count && !stop.IsCancellationRequested; b++)
            {
                try
                {
                    await slots.WaitAsync(stop.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                var index = b;
                var (first, last) = batches[index];
                var logins = firstLogins.GetViewBetween(first, last - 1).Count > 0;
                var loginsBefore = previousLogins;
                var batchTask = Task.Run(async () =>
                {
                    try
                    {
                        var (start, end) = batches[index];
                        await loginsBefore;
                        var answer = await SendAsync(client, start, end, stop.Token);
                        lock (_gate)
                        {
                            Sent += end - start;
                            AcknowledgedThisRun += answer.Accepted + answer.Duplicates;
                            foreach (var rejected in answer.Rejected)
                            {
                                GridRejectedEvents++;
                                var planned = plan.Events[start + rejected.Index];
                                var field = EventField(rejected.Field);
                                _gridRejects.AddRange(planned.Lines.Select(line => new ImportReject(line, field, rejected.Reason, "grid")));
                            }

                            done[index] = true;
                            var advanced = false;
                            while (next < batches.Count && done[next])
                            {
                                _acknowledged = batches[next].End;
                                next++;
                                advanced = true;
                            }

                            if (advanced)
                            {
                                Save(completed: _acknowledged == plan.Events.Count);
                                progress(_acknowledged);
                            }
                        }
                    }
                    catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                    {
                        lock (_gate)
                        {
                            // The others' cancellations that follow are not the cause.
                            failure ??= ex;
                        }

                        await stop.CancelAsync();
                    }
                    finally
                    {
                        slots.Release();
                    }
                }, CancellationToken.None);
                running.Add(batchTask);
                if (logins)
                {
                    previousLogins = batchTask;
                }
            }

            await Task.WhenAll(running);
            cancellationToken.ThrowIfCancellationRequested();
            if (failure is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }

            lock (_gate)
            {
                Save(completed: true);
            }
        }

        /// <summary>The indexes of the events that first pair a user id with an anonymous id, in the plan's order.</summary>
        private SortedSet<int> FirstLogins()
        {
            var seen = new HashSet<(string, string)>();
            var first = new SortedSet<int>();
            for (var i = _acknowledged; i < plan.Events.Count; i++)
            {
                if (plan.Events[i].Event is { UserId.Length: > 0, AnonymousId.Length: > 0 } e && seen.Add((e.UserId, e.AnonymousId)))
                {
                    first.Add(i);
                }
            }

            return first;
        }

        private async Task<IngestEventsResponse> SendAsync(ProfileGateway.ProfileGatewayClient client, int start, int end, CancellationToken cancellationToken)
        {
            var request = new IngestEventsRequest { Tenant = tenant, Historical = true };
            for (var i = start; i < end; i++)
            {
                request.Events.Add(plan.Events[i].Event);
            }

            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await client.IngestEventsAsync(request, cancellationToken: cancellationToken);
                }
                catch (RpcException ex) when (attempt < 6 && ex.StatusCode is StatusCode.Unavailable or StatusCode.ResourceExhausted or StatusCode.DeadlineExceeded)
                {
                    // The grid sheds load or restarts: the same events again are harmless (ids), so wait and retry.
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * (1 << attempt)), cancellationToken);
                }
            }
        }

        /// <summary>An event's bytes in a request: the event, its field tag and its length.</summary>
        private static int EventBytes(Event e)
        {
            var size = e.CalculateSize();
            return 1 + Google.Protobuf.CodedOutputStream.ComputeLengthSize(size) + size;
        }

        private void Save(bool completed) => new ImportState
        {
            Fingerprint = fingerprint,
            Tenant = tenant,
            MappingHash = mappingHash,
            EventsTotal = plan.Events.Count,
            EventsAcknowledged = _acknowledged,
            LastLineAcknowledged = _acknowledged == 0 ? 0 : plan.Events[_acknowledged - 1].Lines.Max(),
            Completed = completed,
            GridRejects = _gridRejects,
        }.Write(statePath);
    }

    /// <summary>
    /// The grid names a refused field by its place in the request (<c>events[212].product.unit_price</c>); the request is
    /// the importer's batch, not the file, so the rejects file keeps the field within the event (<c>product.unit_price</c>).
    /// </summary>
    internal static string EventField(string field) =>
        field.StartsWith("events[", StringComparison.Ordinal) && field.IndexOf("].", StringComparison.Ordinal) is > 0 and var end
            ? field[(end + 2)..]
            : field;
}
