using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ProfileGrid.Cli;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Tests;
using Spectre.Console.Testing;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// <c>profilegrid import-events</c> against a real silo process: a messy Online Retail export (duplicates, rows without
/// a customer, zero and negative prices, cancellations, an order over non-adjacent lines, mixed date formats, odd
/// countries) whose rejects file is checked line by line and whose profiles equal an oracle computed with pandas; a
/// re-run changes nothing; a run killed with SIGKILL resumes and ends equal to one clean run; a JSONL clickstream.
/// </summary>
[Collection(EphemeralSiloCollection.Name)]
public sealed class BulkImportTests(EphemeralSiloFixture fixture) : IDisposable
{
    internal static readonly string Examples = FindExamples();

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("profilegrid-bulk-");

    public void Dispose() => _folder.Delete(recursive: true);

    private const string MessyRetail =
        """
        InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
        536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom
        536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom
        536365,84406B ,"CREAM CUPID HEARTS COAT HANGER, LARGE",8,12/1/2010 8:26,2.75,17850,United Kingdom
        536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850,United Kingdom
        536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047,United Kingdom
        536367,22745,POPPY'S PLAYHOUSE BEDROOM ,6,12/1/2010 8:34,2.10,13047,United Kingdom
        536367,22745,POPPY'S PLAYHOUSE BEDROOM ,6,12/1/2010 8:34,2.10,13047,United Kingdom
        536368,22960,JAM MAKING SET WITH JARS,6,12/1/2010 8:34,4.25,13047,United Kingdom
        C536379,D,Discount,-1,12/1/2010 9:41,27.50,14527,United Kingdom
        C536383,35004C,SET OF 3 COLOURED  FLYING DUCKS,-1,12/1/2010 9:49,4.65,15311,United Kingdom
        536370,22728,ALARM CLOCK BAKELIKE PINK,24,12/1/2010 8:45,3.75,12583,France
        536370,22727,ALARM CLOCK BAKELIKE RED ,24,12/1/2010 8:45,3.75,12583,France
        536370,POST,POSTAGE,3,12/1/2010 8:45,18,12583,France
        536414,22139,,56,12/1/2010 11:52,0,,United Kingdom
        536544,21773,DECORATIVE ROSE BATHROOM BOTTLE,1,12/1/2010 14:32,2.51,,United Kingdom
        536545,21134,,1,12/1/2010 14:32,0,16456,United Kingdom
        536370,22726,ALARM CLOCK BAKELIKE GREEN,12,12/1/2010 8:45,3.75,12583,France
        537000,22423,REGENCY CAKESTAND 3 TIER,2,12/2/2010 10:03,12.75,14911,EIRE
        537001,22423,REGENCY CAKESTAND 3 TIER,1,12/2/2010 10:05,12.75,12363,Unspecified
        537002,22423,REGENCY CAKESTAND 3 TIER,1,2010-12-02 10:07:00,12.75,12364,Atlantis
        537003,22423,REGENCY CAKESTAND 3 TIER,1,02.12.2010 10:07,12.75,12365,United Kingdom
        537004,22424,SOMETHING,abc,12/2/2010 10:10,1.00,12366,United Kingdom
        537005,B,Adjust bad debt,1,12/2/2010 10:11,-11062.06,12367,United Kingdom
        C537006,22423,REGENCY CAKESTAND 3 TIER,-1,12/3/2010 9:00,12.75,14911,EIRE
        C537006,22424,SOMETHING,-2,12/3/2010 9:00,1.00,14911,EIRE
        537007,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/5/2010 9:00,2.55,17850,United Kingdom
        537007,85123a,WHITE HANGING HEART T-LIGHT HOLDER,2,12/5/2010 9:00,2.55,17850,United Kingdom
        537008,22111,SCOTTIE DOG HOT WATER BOTTLE,3,12/6/2010 12:00,4.95,客户-001,Japan

        """;

    /// <summary>Revenue net of cancellations (never below zero) and distinct orders per customer, by pandas from the same file.</summary>
    private const string Oracle =
        """
        import sys, json, pandas as pd
        df = pd.read_csv(sys.argv[1] + '/retail.csv', dtype=str, keep_default_na=False)
        df = df.apply(lambda c: c.str.strip()).drop_duplicates()
        df = df[df['CustomerID'] != '']
        df['q'] = pd.to_numeric(df['Quantity'], errors='coerce')
        df['p'] = pd.to_numeric(df['UnitPrice'], errors='coerce')
        t1 = pd.to_datetime(df['InvoiceDate'], format='%m/%d/%Y %H:%M', errors='coerce')
        t2 = pd.to_datetime(df['InvoiceDate'], format='%Y-%m-%d %H:%M:%S', errors='coerce')
        df['t'] = t1.fillna(t2)
        df = df.dropna(subset=['q', 'p', 't'])
        df = df[df['p'] > 0]
        df['refund'] = df['InvoiceNo'].str.startswith('C') | (df['q'] < 0)
        df['amount'] = df['q'].abs() * df['p']
        out = {}
        for customer, rows in df.groupby('CustomerID'):
            bought = rows[~rows['refund']]
            gross = float(bought['amount'].sum())
            refunded = float(rows[rows['refund']]['amount'].sum())
            out[customer] = {'net': round(max(0.0, gross - refunded), 2), 'orders': int(bought['InvoiceNo'].nunique()),
                             'refunds': int(rows[rows['refund']]['InvoiceNo'].nunique())}
        print(json.dumps(out))
        """;

    private (int Exit, string Output) Run(params string[] args)
    {
        var console = new TestConsole();
        console.Profile.Width = 200;
        using var output = new StringWriter();
        var exit = CliApp.Run(args, console, output, output);
        return (exit, console.Output + output);
    }

    private string[] ImportArgs(string tenant, string file, string mapping, params string[] more) =>
        ["import-events", "--grid", $"http://127.0.0.1:{fixture.Silo.GrpcPort}", "--tenant", tenant, "--file", file, "--mapping", mapping, .. more];

    [Fact]
    public async Task A_messy_online_retail_export_is_cleaned_rejected_by_line_and_equals_the_pandas_oracle_and_a_rerun_changes_nothing()
    {
        var tenant = "retail-" + Guid.NewGuid().ToString("N")[..8];
        var file = Path.Combine(_folder.FullName, "retail.csv");
        File.WriteAllText(file, MessyRetail);
        var summaryPath = Path.Combine(_folder.FullName, "summary.json");

        var (exit, output) = Run(ImportArgs(tenant, file, Path.Combine(Examples, "online-retail.json"), "--summary-json", summaryPath));

        Assert.True(exit == 0, output);
        var rejects = File.ReadAllLines(file + ".rejects.csv");
        Assert.Equal(
        [
            "line,field,reason,code",
            "8,,exact duplicate of line 7,duplicate",
            "15,CustomerID,no customer id,missing_user",
            "16,CustomerID,no customer id,missing_user",
            "17,UnitPrice,is zero (zeroPrice: reject),zero_price",
            "22,InvoiceDate,\"'02.12.2010 10:07' matches none of the date formats (M/d/yyyy H:mm, M/d/yyyy H:mm:ss, yyyy-MM-dd HH:mm:ss, yyyy-MM-dd HH:mm)\",bad_time",
            "23,Quantity,'abc' is not a whole number of units (up to 100000),bad_quantity",
            "24,UnitPrice,\"-11062.06 is negative (an adjustment, not a sale)\",negative_price",
        ], rejects);

        using var summary = JsonDocument.Parse(File.ReadAllText(summaryPath));
        var s = summary.RootElement;
        Assert.Equal(28, s.GetProperty("rowsRead").GetInt64());
        Assert.Equal(21, s.GetProperty("rowsImported").GetInt64());
        Assert.Equal(1, s.GetProperty("duplicatesDropped").GetInt64());
        Assert.Equal(7, s.GetProperty("rowsRejected").GetInt64());
        Assert.Equal(2, s.GetProperty("rejectedByReason").GetProperty("missing_user").GetInt64());
        Assert.Equal(3, s.GetProperty("refundEvents").GetInt64()); // C536379, C536383, C537006 (two lines)
        Assert.Equal(13, s.GetProperty("eventsPlanned").GetInt64()); // 10 orders (536370 over non-adjacent lines is one) and 3 refunds
        Assert.True(s.GetProperty("completed").GetBoolean());
        Assert.Contains("unknown country 'Atlantis'", output);
        Assert.Contains("rows/s", output);

        var oracle = ReferencePython.Run(Oracle, new Dictionary<string, string> { ["retail.csv"] = MessyRetail }, "python3-pandas");
        var expected = oracle.EnumerateObject().ToDictionary(p => p.Name, p => (
            Net: p.Value.GetProperty("net").GetDecimal(), Orders: p.Value.GetProperty("orders").GetInt64(), Refunds: p.Value.GetProperty("refunds").GetInt64()));
        Assert.Equal(9, expected.Count);
        Assert.Equal(0m, expected["15311"].Net); // a cancellation of an order from before the file: revenue stays at zero
        var profiles = await WaitForAsync(tenant, expected.Keys, p => expected.All(e => Matches(p, e.Key, e.Value.Net, e.Value.Orders, e.Value.Refunds)));
        foreach (var (customer, want) in expected)
        {
            Assert.True(Matches(profiles, customer, want.Net, want.Orders, want.Refunds), $"{customer}: {Describe(profiles.GetValueOrDefault(customer))}, want net {want.Net} orders {want.Orders}");
        }

        // Codes normalised ("85123a" is 85123A), countries mapped (EIRE is IE), the invoice's time in the file's zone (GMT in December).
        Assert.Equal("IE", profiles["14911"].Context.LastCountry);
        Assert.Equal("FR", profiles["12583"].Context.LastCountry);
        Assert.Equal("2010-12-01T08:26:00.000Z", profiles["17850"].Behavior.FirstPurchaseAt);
        var applied = profiles.ToDictionary(p => p.Key, p => p.Value.EventsApplied);

        // A re-run of the complete import sends every event again: the ids are the same, so nothing changes. A marker event
        // sent after it, per user, proves the re-run's events reached each profile first (a user's events apply in log order).
        var (again, second) = Run(ImportArgs(tenant, file, Path.Combine(Examples, "online-retail.json")));
        Assert.True(again == 0, second);
        Assert.DoesNotContain("under another mapping", second);
        var after = await AfterMarkersAsync(tenant, expected.Keys, "2010-12-31T00:00:00Z");
        foreach (var (customer, want) in expected)
        {
            Assert.True(Matches(after, customer, want.Net, want.Orders, want.Refunds), $"after the re-run {customer}: {Describe(after[customer])}");
            Assert.Equal(applied[customer] + 1, after[customer].EventsApplied);
        }

        // The same file again under a corrected mapping (another currency): the acknowledged events cannot change, and the
        // run says so (an outside probe's second run reported 1,507 events acknowledged and changed nothing, silently).
        // A comment added to the same mapping is no other mapping.
        var commented = Path.Combine(_folder.FullName, "commented.json");
        File.WriteAllText(commented, "// the shipped mapping, annotated\n" + File.ReadAllText(Path.Combine(Examples, "online-retail.json")));
        Assert.DoesNotContain("under another mapping", Run(ImportArgs(tenant, file, commented)).Output);
        var euros = Path.Combine(_folder.FullName, "euros.json");
        File.WriteAllText(euros, File.ReadAllText(Path.Combine(Examples, "online-retail.json")).Replace("\"currency\": \"GBP\"", "\"currency\": \"EUR\"", StringComparison.Ordinal));
        var (corrected, warned) = Run(ImportArgs(tenant, file, euros));
        Assert.True(corrected == 0, warned);
        Assert.Contains("this file was imported into tenant", warned);
        Assert.Contains("under another mapping", warned);
    }

    /// <summary>
    /// Online Retail's heaviest customers send invoices of hundreds of lines: an invoice over
    /// the grid's 200 lines per event goes in parts, and the customer's orders and revenue still equal the pandas oracle's
    /// distinct invoices and net amount; a cancellation of 230 lines too. A re-run changes nothing.
    /// </summary>
    [Fact]
    public async Task Invoices_of_hundreds_of_lines_count_as_one_order_each_as_pandas_counts_them()
    {
        var tenant = "retail-big-" + Guid.NewGuid().ToString("N")[..8];
        var rows = new StringBuilder("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n");
        void Invoice(string invoice, int lines, int quantity, string price, string customer, string time)
        {
            for (var i = 0; i < lines; i++)
            {
                rows.Append(CultureInfo.InvariantCulture, $"{invoice},{20000 + i},ITEM {i},{quantity},{time},{price},{customer},United Kingdom\n");
            }
        }

        Invoice("576339", 450, 2, "1.25", "14096", "11/14/2011 15:27");
        Invoice("576340", 3, 1, "4.95", "14096", "11/14/2011 15:30");
        Invoice("576400", 210, 1, "0.85", "12748", "11/15/2011 10:00");
        Invoice("C576401", 230, -1, "0.50", "12748", "11/16/2011 10:00");
        var file = Path.Combine(_folder.FullName, "retail.csv");
        File.WriteAllText(file, rows.ToString());

        var (exit, output) = Run(ImportArgs(tenant, file, Path.Combine(Examples, "online-retail.json")));
        Assert.True(exit == 0, output);
        Assert.Contains("sent in parts", output);

        var oracle = ReferencePython.Run(Oracle, new Dictionary<string, string> { ["retail.csv"] = rows.ToString() }, "python3-pandas");
        var expected = oracle.EnumerateObject().ToDictionary(p => p.Name, p => (Net: p.Value.GetProperty("net").GetDecimal(), Orders: p.Value.GetProperty("orders").GetInt64()));
        Assert.Equal((1139.85m, 2L), expected["14096"]);
        Assert.Equal((63.5m, 1L), expected["12748"]);
        // The cancellation of 230 lines is two refund events (refunds C576401 and C576401~2): refunds count no orders.
        bool Equal(Dictionary<string, Profile> profiles) => expected.All(e => Matches(profiles, e.Key, e.Value.Net, e.Value.Orders, e.Key == "12748" ? 2 : 0));
        var profiles = await WaitForAsync(tenant, expected.Keys, Equal);
        Assert.True(Equal(profiles), string.Join("; ", expected.Keys.Select(c => $"{c}: {Describe(profiles.GetValueOrDefault(c))}")));
        Assert.Equal(4, profiles["14096"].EventsApplied); // parts 1, 2 and 3 of 576339 (200, 200 and 50 lines), and 576340
        Assert.Equal(4, profiles["12748"].EventsApplied); // 576400 in two parts (200 and 10 lines), and the two refund events

        // Again: every event recognised. A marker sent after it reaches each profile after the re-run's events (log order).
        var (again, second) = Run(ImportArgs(tenant, file, Path.Combine(Examples, "online-retail.json")));
        Assert.True(again == 0, second);
        var after = await AfterMarkersAsync(tenant, expected.Keys, "2011-12-31T00:00:00Z");
        Assert.True(Equal(after), string.Join("; ", expected.Keys.Select(c => $"{c}: {Describe(after.GetValueOrDefault(c))}")));
        Assert.Equal(5, after["14096"].EventsApplied); // and the marker
    }

    /// <summary>
    /// probe54, two things an export can hold that the importer lost or could not send: 100 invoices of 200 lines with
    /// product ids of 240 characters (20,000 lines, within the line cap of one request, but 5 MB where the grid takes
    /// 4 MiB: refused on every run), and an invoice with lines in EUR and GBP (its GBP revenue silently dropped as a repeat
    /// of the order). Requests are now cut by bytes too, and the two currencies are parts of one order.
    /// </summary>
    [Fact]
    public async Task Long_ids_that_overfill_a_request_and_an_invoice_in_two_currencies_are_imported_whole()
    {
        var tenant = "retail-long-" + Guid.NewGuid().ToString("N")[..8];
        var mapping = Path.Combine(_folder.FullName, "currencies.json");
        File.WriteAllText(mapping, """
            { "dateFormats": ["yyyy-MM-dd HH:mm:ss"], "refundOrderPrefix": "C", "defaultCategory": "shop",
              "fields": { "order": "order", "product": "sku", "quantity": "qty", "price": "price", "currency": "cur", "time": "date", "user": "customer" } }
            """);
        var rows = new StringBuilder("order,sku,qty,price,cur,date,customer\n");
        for (var invoice = 0; invoice < 100; invoice++)
        {
            for (var line = 0; line < 200; line++)
            {
                rows.Append(CultureInfo.InvariantCulture, $"INV-{invoice},{line.ToString("D5", CultureInfo.InvariantCulture)}{new string('x', 235)},1,1.00,EUR,2011-03-{1 + invoice % 28:00} 10:00:00,c1\n");
            }
        }

        rows.Append("MIX-1,A,1,10.00,GBP,2011-04-01 10:00:00,c2\nMIX-1,B,2,20.00,EUR,2011-04-01 10:00:00,c2\n");
        var file = Path.Combine(_folder.FullName, "long.csv");
        File.WriteAllText(file, rows.ToString());

        var (exit, output) = Run(ImportArgs(tenant, file, mapping));
        Assert.True(exit == 0, output);
        Assert.Contains("more than one currency", output);

        var profiles = await WaitForAsync(tenant, ["c1", "c2"], p => p.TryGetValue("c1", out var c1) && c1.EventsApplied == 100 && p.TryGetValue("c2", out var c2) && c2.EventsApplied == 2);
        Assert.Equal((100L, "20000.00"), (profiles["c1"].Behavior.Orders, Assert.Single(profiles["c1"].Behavior.MonetaryByCurrency).Amount));
        var mixed = profiles["c2"].Behavior;
        Assert.Equal(1, mixed.Orders);
        Assert.Equal([("EUR", "40.00"), ("GBP", "10.00")], mixed.MonetaryByCurrency.Select(m => (m.Currency, m.Amount)));
    }

    [Fact]
    public async Task An_import_killed_mid_file_resumes_from_its_progress_file_and_ends_equal_to_one_clean_run()
    {
        var file = Path.Combine(_folder.FullName, "big.csv");
        var (generated, generatorOutput) = Run("generate-retail", "--rows", "30000", "--customers", "300", "--out", file);
        Assert.True(generated == 0, generatorOutput);
        var mapping = Path.Combine(Examples, "online-retail.json");
        var killed = "resumed-" + Guid.NewGuid().ToString("N")[..8];
        var clean = "clean-" + Guid.NewGuid().ToString("N")[..8];
        var state = Path.Combine(_folder.FullName, "big.state.json");

        // The CLI as its own process, one small request at a time, killed (SIGKILL) once the progress file shows some events acknowledged.
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[CliAssembly(), .. ImportArgs(killed, file, mapping, "--state", state, "--batch", "2", "--parallel", "1")])
        {
            start.ArgumentList.Add(arg);
        }

        using (var process = Process.Start(start)!)
        {
            _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
            _ = process.StandardError.BaseStream.CopyToAsync(Stream.Null);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline && !process.HasExited && !(File.Exists(state) && StateAcknowledged(state) >= 20))
            {
                await Task.Delay(20);
            }

            Assert.False(process.HasExited, "the import finished before it could be killed; make the file larger");
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }

        var acknowledgedAtKill = StateAcknowledged(state);
        using (var before = JsonDocument.Parse(File.ReadAllText(state)))
        {
            Assert.False(before.RootElement.GetProperty("completed").GetBoolean());
            Assert.True(acknowledgedAtKill < before.RootElement.GetProperty("eventsTotal").GetInt32());
        }

        var summaryPath = Path.Combine(_folder.FullName, "resumed.json");
        var (resumed, resumeOutput) = Run(ImportArgs(killed, file, mapping, "--state", state, "--summary-json", summaryPath));
        Assert.True(resumed == 0, resumeOutput);
        Assert.Contains("resuming after event", resumeOutput);
        using (var summary = JsonDocument.Parse(File.ReadAllText(summaryPath)))
        {
            Assert.True(summary.RootElement.GetProperty("resumedFromEvent").GetInt32() >= acknowledgedAtKill);
            Assert.True(summary.RootElement.GetProperty("eventsSent").GetInt64() < summary.RootElement.GetProperty("eventsPlanned").GetInt64());
        }

        var (cleanExit, cleanOutput) = Run(ImportArgs(clean, file, mapping, "--state", Path.Combine(_folder.FullName, "clean.state.json")));
        Assert.True(cleanExit == 0, cleanOutput);

        // The generator writes customer ids as pandas does ("12346.0"); the example mapping reads them as 12346 (integerUserIds).
        var customers = File.ReadLines(file).Skip(1).Select(l => l.Split(',')[^2].Trim()).Where(c => c.Length > 0)
            .Select(c => c.EndsWith(".0", StringComparison.Ordinal) ? c[..^2] : c).Distinct().ToList();
        Assert.True(customers.Count > 100);
        var deadline2 = DateTime.UtcNow.AddSeconds(90);
        string? difference;
        do
        {
            var a = await ProfileAssertions.GetAllAsync(fixture.Silo.Client, killed, customers);
            var b = await ProfileAssertions.GetAllAsync(fixture.Silo.Client, clean, customers);
            difference = a.Count < 100 || a.Count != b.Count ? $"{a.Count} resumed profiles, {b.Count} clean ones" : customers
                .Select(c => (c, A: Describe(a.GetValueOrDefault(c)), B: Describe(b.GetValueOrDefault(c))))
                .Where(x => x.A != x.B).Select(x => $"{x.c}: resumed {x.A}, clean {x.B}").FirstOrDefault();
            if (difference is null)
            {
                break;
            }

            await Task.Delay(250);
        }
        while (DateTime.UtcNow < deadline2);

        Assert.True(difference is null, difference);
    }

    [Fact]
    public async Task A_jsonl_clickstream_with_anonymous_visitors_epoch_and_iso_times_and_string_prices_is_imported()
    {
        var tenant = "clicks-" + Guid.NewGuid().ToString("N")[..8];
        var file = Path.Combine(_folder.FullName, "clicks.jsonl");
        File.WriteAllLines(file,
        [
            """{"user":"u-1","type":"view","ts":1291191960,"product":" sku-1 ","category":"Shoes","price":"59.90"}""",
            """{"user":"u-1","type":"cart","ts":"2010-12-01T08:27:00Z","product":"sku-1","category":"Shoes","price":"59.90"}""",
            """{"user":"u-1","type":"buy","ts":"2010-12-01T08:30:00+01:00","order":"o-1","product":"sku-1","category":"Shoes","qty":2,"price":"59.90"}""",
            """{"user":"u-1","type":"return","ts":1291450000,"order":"r-1","product":"sku-1","category":"Shoes","qty":1,"price":"59.90"}""",
            """{"anon":"a-77","type":"view","ts":1291191999,"product":"sku-2","category":"Bags"}""",
            """{"type":"view","ts":1291191999,"product":"sku-2"}""",
            """{"user":"u-2","type":"wishlist","ts":1291191999,"product":"sku-2"}""",
            """not json""",
            "",
            """{"user":"ユーザー","type":"view","ts":"yesterday","product":"sku-3"}""",
        ]);

        var (exit, output) = Run(ImportArgs(tenant, file, Path.Combine(Examples, "clickstream.json")));

        Assert.True(exit == 0, output);
        var rejects = File.ReadAllLines(file + ".rejects.csv");
        Assert.Equal(5, rejects.Length);
        Assert.StartsWith("6,user,no customer id and no anonymous id,missing_user", rejects[1]);
        Assert.StartsWith("7,type,'wishlist' is not an importable event type", rejects[2]);
        Assert.EndsWith("bad_json", rejects[3]);
        Assert.StartsWith("10,ts,\"'yesterday' matches none", rejects[4]);

        var profiles = await WaitForAsync(tenant, ["u-1", "anon:a-77"], p => p.Count == 2 && p["u-1"].EventsApplied == 4);
        var u1 = profiles["u-1"];
        Assert.Equal(1, u1.Behavior.Orders);
        Assert.Equal(59.90m, decimal.Parse(Amount(u1, "EUR"), CultureInfo.InvariantCulture));
        Assert.Equal(1, u1.Behavior.EventCounts["refund"]);
        Assert.Equal(1, profiles["anon:a-77"].Behavior.EventCounts["product_view"]);
    }

    [Fact]
    public async Task Shared_devices_join_the_first_user_in_the_file_to_log_in_on_them_however_many_requests_are_in_flight()
    {
        // probe71 F13: with --parallel 8 the same file gave the 20 devices to the first users to log in on them in some
        // runs and to the second in others, as the racing requests arrived.
        var tenant = "logins-" + Guid.NewGuid().ToString("N")[..8];
        var file = Path.Combine(_folder.FullName, "logins.jsonl");
        var t = 1291191960;
        var lines = new List<string>();
        lines.AddRange(Enumerable.Range(0, 20).Select(i => $$"""{"anon":"S{{i}}","type":"view","ts":{{t + i}},"product":"sku-{{i}}"}"""));
        lines.AddRange(Enumerable.Range(0, 20).Select(i => $$"""{"user":"p1-{{i}}","anon":"S{{i}}","type":"view","ts":{{t + 100 + i}},"product":"sku-{{i}}"}"""));
        lines.AddRange(Enumerable.Range(0, 40).Select(i => $$"""{"user":"f-{{i}}","type":"buy","ts":{{t + 200 + i}},"order":"o-{{i}}","product":"sku-1","price":"1.00"}"""));
        lines.AddRange(Enumerable.Range(0, 20).Select(i => $$"""{"user":"p2-{{i}}","anon":"S{{i}}","type":"view","ts":{{t + 600 + i}},"product":"sku-{{i}}"}"""));
        File.WriteAllLines(file, lines);

        // Five requests of 20 events, all in flight at once: the first logins in the second, the later ones in the fifth.
        var (exit, output) = Run(ImportArgs(tenant, file, Path.Combine(Examples, "clickstream.json"), "--batch", "20", "--parallel", "8"));

        Assert.True(exit == 0, output);
        // A visitor reads as the person it joined, once the merge is made (the visitor's view and the login: 2 events).
        string[] owners = [];
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            var reads = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => fixture.Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = $"anon:S{i}" }).ResponseAsync));
            owners = [.. reads.Select(r => r.EventsApplied >= 2 ? r.UserId : "")];
            if (owners.All(o => o.Length > 0))
            {
                break;
            }

            await Task.Delay(200);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"p1-{i}"), owners);
    }

    /// <summary>
    /// Outside probe42: an export whose every row was rejected ended with exit code 0, so a nightly job read as a
    /// success while nothing reached the grid.
    /// </summary>
    [Fact]
    public void A_file_whose_every_row_is_rejected_ends_with_exit_code_3_and_says_so()
    {
        var tenant = "none-" + Guid.NewGuid().ToString("N")[..8];
        var file = Path.Combine(_folder.FullName, "nothing.jsonl");
        File.WriteAllLines(file,
        [
            """{"type":"view","ts":1291191999,"product":"sku-2"}""",
            """{"user":"u-2","type":"wishlist","ts":1291191999,"product":"sku-2"}""",
            """{"user":"u-3","type":"view","ts":"yesterday","product":"sku-3"}""",
        ]);

        var (exit, output) = Run(ImportArgs(tenant, file, Path.Combine(Examples, "clickstream.json")));

        Assert.True(exit == 3, output);
        Assert.Contains("none of the 3 rows could be imported", output);
        Assert.Equal(4, File.ReadAllLines(file + ".rejects.csv").Length);
    }

    /// <summary>probe57: a tenant the grid refuses (257 characters) was sent row by row, each row then a "grid" reject.</summary>
    [Fact]
    public void A_tenant_the_grid_refuses_is_refused_once_before_anything_is_sent()
    {
        var file = Path.Combine(_folder.FullName, "one.jsonl");
        File.WriteAllLines(file, ["""{"user":"u-1","type":"view","ts":1291191999,"product":"sku-1"}"""]);

        var (exit, output) = Run(ImportArgs(new string('t', 257), file, Path.Combine(Examples, "clickstream.json")));

        Assert.True(exit == 2, output);
        Assert.Contains("--tenant: the grid refuses it: tenant:", output);
        Assert.Contains("Nothing was sent", output);
    }

    [Fact]
    public async Task An_imported_order_reported_again_by_the_live_api_counts_once_and_its_product_is_the_same_item()
    {
        // The web shop streams order o-1 live; the same order comes again in a clickstream export. Codes keep their
        // case (only the Online Retail mappings upper-case them), so both reports name one order and one product.
        var tenant = "both-" + Guid.NewGuid().ToString("N")[..8];
        var file = Path.Combine(_folder.FullName, "orders.jsonl");
        File.WriteAllLines(file,
        [
            """{"user":"u-1","type":"buy","ts":"2010-12-01T08:30:00Z","order":"o-1","product":"sku-1","category":"Shoes","qty":2,"price":"59.90"}""",
        ]);
        var (exit, output) = Run(ImportArgs(tenant, file, Path.Combine(Examples, "clickstream.json")));
        Assert.True(exit == 0, output);

        var live = new IngestEventsRequest { Tenant = tenant, Historical = true };
        live.Events.Add(new Event
        {
            EventId = "web-order-o-1", Type = "purchase", UserId = "u-1", Source = "web", OccurredAt = "2010-12-01T08:30:00Z",
            Purchase = new Purchase { OrderId = "o-1", Currency = "EUR", Lines = { new PurchaseLine { ProductId = "sku-1", Category = "Shoes", Quantity = 2, UnitPrice = "59.90" } } },
        });
        live.Events.Add(new Event
        {
            EventId = "web-view-after", Type = "product_view", UserId = "u-1", Source = "web", OccurredAt = "2010-12-01T08:40:00Z",
            Product = new ProductAction { ProductId = "sku-1" },
        });
        var answer = await fixture.Silo.Client.IngestEventsAsync(live);
        Assert.True(answer.Accepted == 2, string.Join("; ", answer.Rejected.Select(r => $"{r.Field}: {r.Reason}")));

        // The view after the live order is applied after it (a user's events apply in log order).
        var profiles = await WaitForAsync(tenant, ["u-1"], p => p.TryGetValue("u-1", out var u) && u.Behavior.EventCounts.GetValueOrDefault("product_view") == 1);
        var u1 = profiles["u-1"];
        Assert.True(u1.Behavior.Orders == 1, Describe(u1));
        Assert.Equal(119.80m, decimal.Parse(Amount(u1, "EUR"), CultureInfo.InvariantCulture));
        Assert.All(u1.Behavior.RecentActions.Where(a => a.ProductId.Length > 0), a => Assert.Equal("sku-1", a.ProductId));
    }

    private static bool Matches(IReadOnlyDictionary<string, Profile> profiles, string user, decimal net, long orders, long refunds) =>
        profiles.TryGetValue(user, out var p)
        && p.Behavior.Orders == orders
        && decimal.Parse(Amount(p, "GBP"), CultureInfo.InvariantCulture) == net
        && p.Behavior.EventCounts.GetValueOrDefault("refund") == refunds;

    private static string Amount(Profile profile, string currency) =>
        profile.Behavior.MonetaryByCurrency.FirstOrDefault(m => m.Currency == currency)?.Amount ?? "0";

    private static string Describe(Profile? p) => p is null ? "missing" :
        $"orders {p.Behavior.Orders}, {string.Join(" ", p.Behavior.MonetaryByCurrency.Select(m => m.Amount + m.Currency))}, events {p.EventsApplied}, " +
        string.Join(" ", p.Behavior.EventCounts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"));

    /// <summary>
    /// Sends each user a marker page view and waits until every one has it: a user's events apply in log order, so the
    /// profiles then hold everything sent before (a re-run's events, which should have changed nothing).
    /// </summary>
    private async Task<Dictionary<string, Profile>> AfterMarkersAsync(string tenant, IReadOnlyCollection<string> users, string occurredAt)
    {
        var marker = new IngestEventsRequest { Tenant = tenant, Historical = true };
        marker.Events.AddRange(users.Select(user => new Event
        {
            EventId = "marker-" + user, Type = "page_view", UserId = user, Source = "web", OccurredAt = occurredAt, Page = new PageView { Url = "/marker" },
        }));
        var marked = await fixture.Silo.Client.IngestEventsAsync(marker);
        Assert.True(marked.Accepted == users.Count, string.Join("; ", marked.Rejected.Select(r => $"{r.Field}: {r.Reason}")));
        return await WaitForAsync(tenant, users, p => users.All(u => p.TryGetValue(u, out var profile) && profile.Behavior.EventCounts.ContainsKey("page_view")));
    }

    private async Task<Dictionary<string, Profile>> WaitForAsync(string tenant, IEnumerable<string> users, Func<Dictionary<string, Profile>, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        Dictionary<string, Profile> profiles;
        do
        {
            profiles = await ProfileAssertions.GetAllAsync(fixture.Silo.Client, tenant, users);
            if (done(profiles))
            {
                return profiles;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        return profiles;
    }

    private static int StateAcknowledged(string path)
    {
        try
        {
            using var state = JsonDocument.Parse(File.ReadAllText(path));
            return state.RootElement.GetProperty("eventsAcknowledged").GetInt32();
        }
        catch (Exception ex) when (ex is IOException or JsonException)
        {
            return 0;
        }
    }

    /// <summary>The CLI from its own build output (the copy in the test output resolves the host's dependency versions, not its own).</summary>
    private static string CliAssembly()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var path = Path.Combine(Path.GetDirectoryName(Examples)!, "..", "src", "ProfileGrid.Cli", "bin", configuration, "net10.0", "profilegrid.dll");
        return File.Exists(path) ? Path.GetFullPath(path) : throw new FileNotFoundException("Build src/ProfileGrid.Cli first.", path);
    }

    private static string FindExamples()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "examples", "import");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("examples/import not found above the test output");
    }
}
