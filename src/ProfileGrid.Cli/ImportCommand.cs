using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Recommendations;
using ProfileGrid.Recommendations.Import;
using Spectre.Console;

namespace ProfileGrid.Cli;

/// <summary>
/// <c>profilegrid import</c>: loads a ratings or interactions file (and MovieLens user and item files) into a running
/// grid through its public gRPC API, as historical events and catalog items, so that profiles, segments and the
/// recommender start from the history a tenant already has. Idempotent: event ids come from the file's keys and items
/// are upserted by id, so a re-run changes nothing.
/// </summary>
/// <remarks>
/// Through the public API rather than as an Orleans client: the same validation, rejects by index and durability as
/// any event, and no cluster network access needed. The file is aggregated per user and product first (the importer's
/// counts), so each pair becomes: its latest rating as one rating event, and its views, cart adds and orders as that
/// many events at the pair's last time. Files carry no prices: cart adds and orders are priced 0 in --currency.
/// </remarks>
internal static class ImportCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var grid = new Option<string>("--grid") { Description = "The grid's gRPC address, e.g. http://127.0.0.1:7070.", Required = true };
        var tenant = new Option<string>("--tenant") { Description = "The tenant to load into.", Required = true };
        var ratings = new Option<FileInfo?>("--ratings") { Description = "The interaction file (u.data, ml-1m's ratings.dat, ratings.csv, Netflix Prize's combined_data_N.txt, or any CSV/TSV: see --columns, --names, --separator)." };
        var format = new Option<string?>("--format") { Description = "movielens-100k, movielens-1m, movielens-csv, netflix (Netflix Prize: 'MovieID:' lines, then CustomerID,Rating,Date) or csv; default: from the file name (u.data, ratings.dat, ratings.csv, combined_data_N.txt and mv_N.txt as netflix, else csv)." };
        format.AcceptOnlyFromAmong(EvaluateCommand.Formats);
        var columns = new Option<string?>("--columns") { Description = "For --format csv: header names (or --names) as user=NAME,item=NAME[,rating=NAME][,timestamp=NAME][,event=NAME][,count=NAME]; count: how many events the line stands for (Last.fm's plays)." };
        var users = new Option<FileInfo?>("--users") { Description = "MovieLens u.user (gender and year of birth) or ml-1m's users.dat (gender): each user's demographics." };
        var items = new Option<FileInfo?>("--items") { Description = "MovieLens u.item, ml-1m's movies.dat or a later release's movies.csv: catalog items (category and tags from the genres, the title; needs an admin key)." };
        var currency = new Option<string>("--currency") { Description = "Currency of the zero prices of imported cart adds and orders.", DefaultValueFactory = _ => "EUR" };
        var batch = new Option<int>("--batch") { Description = "Events per ingest request.", DefaultValueFactory = _ => 500 };
        var key = new Option<string?>("--key") { Description = $"An API key with the ingest scope on the tenant (admin for --items); default: --key-file, then ${KeysCommand.KeyVariable}." };
        var keyFile = new Option<FileInfo?>("--key-file") { Description = "A file holding the API key (.profilegrid/admin.key under ./run.sh)." }.AcceptExistingOnly();

        var command = new Command("import", "Load a ratings or interactions file into a running grid as historical events, and an item file into its catalog (idempotent; rejects reported by line).")
        {
            grid, tenant, ratings, format, columns, users, items, currency, batch, key, keyFile,
        };
        var reading = new RatingsFileOptions();
        foreach (var option in reading.All)
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            var ratingsFile = parse.GetValue(ratings);
            var usersFile = parse.GetValue(users);
            var itemsFile = parse.GetValue(items);
            var problems = new List<string>();
            if (ratingsFile is null && itemsFile is null)
            {
                problems.Add("--ratings or --items (or both): nothing to import");
            }

            if (ratingsFile is { Exists: false })
            {
                problems.Add($"--ratings: no such file {ratingsFile.FullName}");
            }

            if (usersFile is not null && ratingsFile is null)
            {
                problems.Add("--users: only with --ratings (demographics are sent for the users the ratings name)");
            }

            if (itemsFile is { Exists: false })
            {
                problems.Add($"--items: no such file {itemsFile.FullName}");
            }

            if (usersFile is { Exists: false })
            {
                problems.Add($"--users: no such file {usersFile.FullName}");
            }

            if (parse.GetValue(batch) is < 1 or > 10_000)
            {
                problems.Add($"--batch: between 1 and 10000 ({parse.GetValue(batch)})");
            }

            if (!Uri.TryCreate(parse.GetRequiredValue(grid), UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
            {
                problems.Add($"--grid: an http(s) address such as http://127.0.0.1:7070 ('{parse.GetRequiredValue(grid)}')");
            }

            var mapping = EvaluateCommand.ParseColumns(parse.GetValue(columns), problems);
            var readOptions = reading.Parse(parse, problems);
            var fileFormat = ratingsFile is null ? InteractionFileFormat.Csv : EvaluateCommand.ParseFormat(parse.GetValue(format), ratingsFile.Name);
            EvaluateCommand.CheckReading(readOptions, fileFormat, problems);
            if (problems.Count > 0)
            {
                foreach (var problem in problems)
                {
                    console.MarkupLineInterpolated($"[red]error:[/] {problem}");
                }

                return EvaluateCommand.BadInput;
            }

            InteractionImport? imported;
            UserAttributesImport? attributes;
            CatalogImport? catalog;
            try
            {
                catalog = itemsFile is null ? null : MovieLensFiles.ReadItems(itemsFile.FullName);
                imported = ratingsFile is null ? null : InteractionImporter.Import(ratingsFile.FullName, readOptions with
                {
                    Format = fileFormat,
                    Columns = mapping,
                });
                attributes = usersFile is null ? null : MovieLensFiles.ReadUsers(usersFile.FullName);
            }
            catch (InvalidDataException ex)
            {
                // A header without a mapped column: nothing can be read, and nothing was sent.
                console.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
                return EvaluateCommand.BadInput;
            }

            if (attributes is not null)
            {
                var a = attributes.Summary;
                console.MarkupLineInterpolated($"{usersFile!.Name}: {a.LinesRead:N0} lines read, {a.Accepted:N0} accepted, {a.Rejected:N0} rejected");
                foreach (var reject in attributes.Rejects.Take(20))
                {
                    console.MarkupLineInterpolated($"  [yellow]line {reject.Line}[/]: {reject.Reason}");
                }
            }
            if (catalog is not null)
            {
                var c = catalog.Summary;
                console.MarkupLineInterpolated($"{itemsFile!.Name}: {c.LinesRead:N0} lines read, {c.Accepted:N0} accepted, {c.Rejected:N0} rejected, {c.Duplicates:N0} duplicates; {c.Items:N0} items");
                foreach (var reject in catalog.Rejects.Take(20))
                {
                    console.MarkupLineInterpolated($"  [yellow]line {reject.Line}[/]: {reject.Reason}");
                }
            }

            if (imported is not null)
            {
                var s = imported.Summary;
                console.MarkupLineInterpolated($"{ratingsFile!.Name}: {s.LinesRead:N0} lines read, {s.Accepted:N0} accepted, {s.Rejected:N0} rejected, {s.Duplicates:N0} duplicates{(s.ItemLines > 0 ? $", {s.ItemLines:N0} naming an item" : "")}; {s.Users:N0} users, {s.Items:N0} items");
                foreach (var reject in imported.Rejects.Take(20))
                {
                    console.MarkupLineInterpolated($"  [yellow]line {reject.Line}[/]: {reject.Reason}");
                }
            }

            var categories = catalog?.Items.Where(i => i.Category is not null).ToDictionary(i => i.ItemId, i => i.Category!, StringComparer.Ordinal);
            var events = imported is null ? [] : InteractionEvents.From(imported.Users, attributes?.Users, categories, (parse.GetValue(currency) ?? "EUR").ToUpperInvariant()).ToList();
            using var connection = KeysCommand.Connect(address!, KeysCommand.ResolveKey(parse.GetValue(key), parse.GetValue(keyFile)));
            var client = new ProfileGateway.ProfileGatewayClient(connection.Calls);
            long acknowledged = 0, repeated = 0, itemsStored = 0;
            var rejected = new List<string>();
            var itemsRejected = new List<string>();
            try
            {
                if (catalog is not null)
                {
                    // Items first: a model trained as the events arrive already knows their categories and titles.
                    var recommendations = new RecommendationService.RecommendationServiceClient(connection.Calls);
                    foreach (var chunk in catalog.Items.Chunk(ItemsPerRequest))
                    {
                        var request = new UpsertItemsRequest { Tenant = parse.GetRequiredValue(tenant) };
                        request.Items.AddRange(chunk.Select(CatalogItems.ToProto));
                        var answer = await recommendations.UpsertItemsAsync(request, cancellationToken: cancellationToken);
                        itemsStored += answer.Accepted;
                        itemsRejected.AddRange(answer.Rejected.Select(r => $"item {Shown(chunk[r.Index].ItemId)}: {r.Field}: {r.Reason}"));
                    }

                    console.MarkupLineInterpolated($"items: {catalog.Items.Count:N0} sent, {itemsStored:N0} stored, {itemsRejected.Count:N0} rejected by the grid");
                    foreach (var line in itemsRejected.Take(20))
                    {
                        console.MarkupLineInterpolated($"  [yellow]{line}[/]");
                    }
                }

                if (imported is null)
                {
                    return itemsRejected.Count == 0 ? EvaluateCommand.Ok : 1;
                }

                await console.Progress().StartAsync(async progress =>
                {
                    var task = progress.AddTask("sending events", maxValue: events.Count);
                    foreach (var chunk in events.Chunk(parse.GetValue(batch)))
                    {
                        var request = new IngestEventsRequest { Tenant = parse.GetRequiredValue(tenant), Historical = true };
                        request.Events.AddRange(chunk);
                        var answer = await client.IngestEventsAsync(request, cancellationToken: cancellationToken);
                        acknowledged += answer.Accepted;
                        repeated += answer.Duplicates;
                        rejected.AddRange(answer.Rejected.Select(r => $"{chunk[r.Index].EventId}: {r.Field}: {r.Reason}"));
                        task.Increment(chunk.Length);
                    }
                });
            }
            catch (RpcException ex)
            {
                console.MarkupLineInterpolated($"[red]error:[/] {GrpcErrors.Describe(ex)}");
                return 1;
            }

            // The gateway acknowledges an event once it is durably recorded; whether a profile had applied it already is
            // found out later, by the profile (event ids), so "acknowledged" cannot say "new" and does not.
            console.MarkupLineInterpolated($"events: {events.Count:N0} sent, {acknowledged:N0} acknowledged, {repeated:N0} repeated within a batch (counted once), {rejected.Count:N0} rejected by the grid");
            console.MarkupLine("  acknowledged means durably recorded, not new: event ids come from the file's keys, and a profile recognises an event it already applied (an earlier run's) by its id; that event changes nothing. The grid cannot tell at ingest which events a profile already has.");
            foreach (var line in rejected.Take(20))
            {
                console.MarkupLineInterpolated($"  [yellow]{line}[/]");
            }

            return rejected.Count == 0 && itemsRejected.Count == 0 ? EvaluateCommand.Ok : 1;
        });
        return command;
    }

    private static string Shown(string id) => id.Length > 60 ? id[..60] + "..." : id;

    /// <summary>The gateway's limit per UpsertItems request (RecommendationServiceImpl.MaxUpsertItems).</summary>
    private const int ItemsPerRequest = 1000;
}

/// <summary>Catalog items read from a file, as the catalog API takes them.</summary>
internal static class CatalogItems
{
    public static Contracts.V1.CatalogItem ToProto(Recommendations.CatalogItem item)
    {
        var proto = new Contracts.V1.CatalogItem
        {
            ItemId = item.ItemId,
            Category = item.Category ?? string.Empty,
            Price = item.Price?.ToString(CultureInfo.InvariantCulture) ?? string.Empty,
            Currency = item.Currency ?? string.Empty,
            Available = item.Available,
        };
        proto.Tags.AddRange(item.Tags);
        foreach (var (name, value) in item.Attributes)
        {
            proto.Attributes[name] = value;
        }

        return proto;
    }
}

/// <summary>Turns imported interactions (and MovieLens user attributes) into the grid's events, with ids from the file's keys.</summary>
internal static class InteractionEvents
{
    public static IEnumerable<Event> From(
        IReadOnlyList<UserInteractions> users,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? attributes,
        IReadOnlyDictionary<string, string>? categories,
        string currency)
    {
        // A ratings file's ages are of when it was collected (MovieLens u.user: 1998, its last ratings), the year the grid's
        // evaluation measures them in (agesAsOf): an age taken at each user's first rating made a user who began in 1997
        // a year older there than the file says, and 36 of 943 changed age band (probe65 F5).
        var agesOf = users.SelectMany(u => u.Items).Select(i => i.LastAt).DefaultIfEmpty(DateTimeOffset.UtcNow).Max();
        foreach (var user in users)
        {
            var first = user.Items.Count == 0 ? DateTimeOffset.UtcNow : user.Items.Min(i => i.LastAt);
            if (attributes?.GetValueOrDefault(user.UserKey) is { } known)
            {
                var demographics = new Demographics();
                if (known.GetValueOrDefault("gender") is { } gender)
                {
                    demographics.Gender = gender == "F" ? "female" : gender == "M" ? "male" : "unknown";
                }

                if (int.TryParse(known.GetValueOrDefault("age"), NumberStyles.None, CultureInfo.InvariantCulture, out var age))
                {
                    demographics.BirthYear = agesOf.Year - age;
                }

                yield return new Event
                {
                    EventId = Id(user.UserKey, "", "identify"), Type = "identify", UserId = user.UserKey, Source = "crm",
                    OccurredAt = Time(first), Identify = new Identify { Demographics = demographics },
                };
            }

            foreach (var item in user.Items)
            {
                var at = Time(item.LastAt);
                var category = categories?.GetValueOrDefault(item.ItemId) ?? string.Empty;
                if (item.Rating is { } rating)
                {
                    // The value is part of the id: an export taken later, after the user rated the item again, brings a
                    // new event (the later rating wins in the profile), where the same id would be dropped as a repeat.
                    yield return new Event
                    {
                        EventId = Id(user.UserKey, item.ItemId, "rating:" + rating.ToString("R", CultureInfo.InvariantCulture)), Type = "rating", UserId = user.UserKey, Source = "crm", OccurredAt = at,
                        Rating = new Rating { ProductId = item.ItemId, Category = category, Value = rating },
                    };
                }

                for (var i = 0; i < item.Views; i++)
                {
                    yield return new Event
                    {
                        EventId = Id(user.UserKey, item.ItemId, $"view:{i}"), Type = "product_view", UserId = user.UserKey, Source = "crm", OccurredAt = at,
                        Product = new ProductAction { ProductId = item.ItemId, Category = category },
                    };
                }

                for (var i = 0; i < item.CartAdds; i++)
                {
                    yield return new Event
                    {
                        EventId = Id(user.UserKey, item.ItemId, $"cart:{i}"), Type = "add_to_cart", UserId = user.UserKey, Source = "crm", OccurredAt = at,
                        Product = new ProductAction { ProductId = item.ItemId, Category = category, UnitPrice = "0.00", Currency = currency },
                    };
                }

                for (var i = 0; i < item.Purchases; i++)
                {
                    var order = Id(user.UserKey, item.ItemId, $"order:{i}");
                    var purchase = new Purchase { OrderId = order, Currency = currency };
                    purchase.Lines.Add(new PurchaseLine { ProductId = item.ItemId, Category = category.Length > 0 ? category : "imported", Quantity = 1, UnitPrice = "0.00" });
                    yield return new Event
                    {
                        EventId = order, Type = "purchase", UserId = user.UserKey, Source = "crm", OccurredAt = at, Purchase = purchase,
                    };
                }
            }
        }
    }

    /// <summary>The grid's limit on an event or order id (EventValidator: ProfileGrid:Limits:MaxStringLength's default).</summary>
    public const int MaxIdLength = 256;

    /// <summary>
    /// <c>import:{user}:{item}:{what}</c>; when that passes <see cref="MaxIdLength"/> (a user and an item id may each be 256
    /// characters), <c>import:#{hash of user and item}:{what}</c> instead, so that ids the grid accepts always import.
    /// </summary>
    public static string Id(string user, string item, string what)
    {
        var id = item.Length == 0 ? $"import:{user}:{what}" : $"import:{user}:{item}:{what}";
        if (id.Length <= MaxIdLength)
        {
            return id;
        }

        var digest = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(user + "\0" + item));
        return $"import:#{Convert.ToHexStringLower(digest)[..40]}:{what}";
    }

    private static string Time(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
