using System.Text;
using ProfileGrid.Cli.BulkImport;

namespace ProfileGrid.Cli.Tests;

/// <summary>The bulk importer's cleaning on files written by the test, with the shipped example mappings (no grid needed).</summary>
public sealed class ImportPlannerTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("profilegrid-plan-");

    public void Dispose() => _folder.Delete(recursive: true);

    private static string Example(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "examples", "import", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(name);
    }

    private ImportPlan Plan(string mappingFile, string text, string name = "input.csv")
    {
        var path = Path.Combine(_folder.FullName, name);
        File.WriteAllText(path, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        return new ImportPlanner(ImportMapping.Load(mappingFile).Mapping).Plan(path);
    }

    /// <summary>
    /// A file written day first (Excel on a UK machine) with a month-first mapping: the dates with a day over 12 do not
    /// read, and the others would read on the wrong dates (1 December as 12 January). The outside probe's file imported
    /// 40% of its rows so, exit code 0. Now the plan is refused, naming the order that reads; a stray row is rejected.
    /// </summary>
    [Fact]
    public void A_day_first_file_under_a_month_first_mapping_is_refused_before_anything_is_sent()
    {
        var header = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n";
        var rows = new StringBuilder(header);
        for (var day = 1; day <= 28; day++)
        {
            rows.Append(System.Globalization.CultureInfo.InvariantCulture, $"5{day:0000},85123A,HOLDER,2,{day:00}/12/2009 07:45,2.55,{13000 + day},United Kingdom\n");
        }

        var refused = Assert.Throws<InvalidDataException>(() => Plan(Example("online-retail-ii.json"), rows.ToString(), "uk.csv"));
        Assert.Contains("16 of 28 rows have a date that reads only with day and month swapped (line 14: '13/12/2009 07:45'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("put \"d/M/yyyy H:mm\" in dateFormats", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was sent", refused.Message, StringComparison.Ordinal);

        // One such row among month-first ones is a typo: rejected with the hint, the rest imported.
        var typo = Plan(Example("online-retail-ii.json"),
            header + "500001,85123A,HOLDER,2,12/1/2009 07:45,2.55,13001,United Kingdom\n" +
                     "500002,85123A,HOLDER,2,13/12/2009 07:45,2.55,13002,United Kingdom\n", "typo.csv");
        var reject = Assert.Single(typo.Rejects);
        Assert.Equal(("bad_time", 3L), (reject.Code, reject.Line));
        Assert.EndsWith("it reads with day and month swapped (d/M/yyyy H:mm)", reject.Reason, StringComparison.Ordinal);
        Assert.Single(typo.Events);
    }

    /// <summary>
    /// probe57: a blank customer id that pandas wrote back out ("nan") or a database exported ("NULL") imported as a customer
    /// of that name, so every anonymous row of an export went to one invented customer. They are rows without a user.
    /// </summary>
    [Fact]
    public void Customer_ids_that_pandas_reads_as_missing_are_rows_without_a_user()
    {
        var header = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n";
        var rows = header + string.Join("", new[] { "nan", "NaN", "NULL", "N/A", "#N/A", "13085.0", "nano" }.Select((id, i) =>
            $"50000{i},85123A,HOLDER,2,12/1/2009 07:45,2.55,{id},United Kingdom\n"));

        var plan = Plan(Example("online-retail-ii.json"), rows, "missing.csv");

        Assert.Equal(Enumerable.Repeat("missing_user", 5), plan.Rejects.Select(r => r.Code));
        Assert.Equal(["13085", "nano"], plan.Events.Select(e => e.Event.UserId).Order(StringComparer.Ordinal));

        // A mapping that lists none keeps them as written.
        var mapping = Path.Combine(_folder.FullName, "keep-ids.json");
        var keep = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Example("online-retail-ii.json")), documentOptions: new() { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true })!.AsObject();
        keep["missingUserValues"] = new System.Text.Json.Nodes.JsonArray();
        File.WriteAllText(mapping, keep.ToJsonString());
        Assert.Equal(7, Plan(mapping, rows, "kept.csv").Events.Count);
    }

    /// <summary>probe57: a 308-character stock code made the grid refuse its whole invoice, three valid lines with it.</summary>
    [Fact]
    public void A_product_code_longer_than_the_grid_takes_is_rejected_alone_not_with_its_order()
    {
        var header = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n";
        var rows = header
            + "500001,85123A,HOLDER,2,12/1/2009 07:45,2.55,13085,United Kingdom\n"
            + $"500001,{new string('X', 308)},LONG,1,12/1/2009 07:45,1.00,13085,United Kingdom\n"
            + "500001,22752,LANTERN,1,12/1/2009 07:45,7.65,13085,United Kingdom\n";

        var plan = Plan(Example("online-retail-ii.json"), rows, "long.csv");

        var reject = Assert.Single(plan.Rejects);
        Assert.Equal(("long_product", 3L), (reject.Code, reject.Line));
        var order = Assert.Single(plan.Events);
        Assert.Equal(2, order.Event.Purchase.Lines.Count);
    }

    /// <summary>
    /// A RetailRocket-shaped clickstream (epoch milliseconds, no price column). The outside probe's import exited 0 with no
    /// warning: its transactions were rejected as "no price" under a column that does not exist, and its cart adds were
    /// sent and came back from the grid under "events[212].product.unit_price", a place in a request.
    /// </summary>
    [Fact]
    public void A_clickstream_without_prices_imports_its_views_and_says_why_carts_and_purchases_cannot_go()
    {
        var mapping = Path.Combine(_folder.FullName, "retailrocket.json");
        File.WriteAllText(mapping, """
            {"format": "csv", "dateFormats": ["epoch-ms"], "source": "web",
             "fields": {"user": "visitorid", "type": "event", "time": "timestamp", "product": "itemid", "order": "transactionid"},
             "typeValues": {"view": "product_view", "addtocart": "add_to_cart", "transaction": "purchase"},
             "eventIdPrefix": "retailrocket"}
            """);
        var plan = Plan(mapping,
            "timestamp,visitorid,event,itemid,transactionid\n" +
            "1430622591662,166662,view,398866,\n" +
            "1439380842254,1002525,addtocart,57862,\n" +
            "1439380902254,1002525,transaction,57862,2299\n", "events.csv");

        Assert.Equal("product_view", Assert.Single(plan.Events).Event.Type);
        Assert.Equal([(3L, "price", "missing_price"), (4L, "price", "missing_price")], plan.Rejects.Select(r => (r.Line, r.Field, r.Code)));
        Assert.Equal("no price column is mapped (fields.price), and the grid needs a price on add_to_cart rows", plan.Rejects[0].Reason);
        var (warning, rows) = Assert.Single(plan.Warnings);
        Assert.Equal(2, rows);
        Assert.Contains("Exports without prices", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_grouping_a_second_row_of_an_order_is_rejected_rather_than_sent_to_be_dropped_as_a_repeat()
    {
        // probe71: with groupOrders false, lines 2 and 3 of an order were acknowledged and counted nowhere (the grid counts
        // an order id once), the import reporting them imported.
        var mapping = Path.Combine(_folder.FullName, "nogroup.json");
        File.WriteAllText(mapping, File.ReadAllText(Example("online-retail.json")).Replace("\"groupOrders\": true", "\"groupOrders\": false", StringComparison.Ordinal));
        var plan = Plan(mapping,
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" +
            "610001,A,X,1,12/1/2010 8:26,10.00,40001,United Kingdom\n" +
            "610001,B,X,1,12/1/2010 8:26,20.00,40001,United Kingdom\n" +
            "C610002,A,X,-1,12/2/2010 8:26,10.00,40001,United Kingdom\n" +
            "C610002,B,X,-1,12/2/2010 8:26,20.00,40001,United Kingdom\n" +
            "610001,A,X,1,12/1/2010 8:26,10.00,40002,United Kingdom\n", "nogroup.csv");

        Assert.Equal([(3L, "duplicate_order"), (5L, "duplicate_order")], plan.Rejects.Select(r => (r.Line, r.Code)));
        Assert.Contains("order 610001 is on line 2 already", plan.Rejects[0].Reason, StringComparison.Ordinal);
        Assert.Equal(3, plan.Events.Count);
    }

    [Fact]
    public void Each_return_of_an_order_is_a_refund_of_its_own_dated_at_its_time()
    {
        // probe71: return rows naming their order became one refund with the order's id, dated at the first return, and
        // a later partial return of the order (the next month's file) was taken by the grid for a repeat of it.
        var mapping = Path.Combine(_folder.FullName, "returns.json");
        File.WriteAllText(mapping, """
            {"format": "jsonl", "currency": "EUR", "source": "web",
             "fields": {"user": "user", "type": "type", "time": "ts", "order": "order", "product": "product", "quantity": "qty", "price": "price"},
             "typeValues": {"buy": "purchase", "return": "refund"}}
            """);
        var plan = Plan(mapping,
            """{"user": "u-1", "type": "buy", "ts": "2025-01-01T10:00:00Z", "order": "o-1", "product": "a", "qty": 1, "price": "10.00"}""" + "\n" +
            """{"user": "u-1", "type": "buy", "ts": "2025-01-01T10:00:00Z", "order": "o-1", "product": "b", "qty": 1, "price": "10.00"}""" + "\n" +
            """{"user": "u-1", "type": "return", "ts": "2025-01-02T09:00:00Z", "order": "o-1", "product": "a", "qty": 1, "price": "10.00"}""" + "\n" +
            """{"user": "u-1", "type": "return", "ts": "2025-03-15T09:00:00Z", "order": "o-1", "product": "b", "qty": 1, "price": "10.00"}""" + "\n", "returns.jsonl");

        Assert.Empty(plan.Rejects);
        var refunds = plan.Events.Where(e => e.Event.Refund is not null).Select(e => e.Event).OrderBy(e => e.OccurredAt, StringComparer.Ordinal).ToList();
        Assert.Equal([("o-1@20250102T090000Z", "o-1", "2025-01-02T09:00:00Z"), ("o-1@20250315T090000Z", "o-1", "2025-03-15T09:00:00Z")],
            refunds.Select(r => (r.Refund.RefundId, r.Refund.OrderId, r.OccurredAt)));
        Assert.Equal("o-1", Assert.Single(plan.Events, e => e.Event.Purchase is not null).Event.Purchase.OrderId);

        // A mapped return id keeps its own id, the order column then naming the return.
        File.WriteAllText(mapping, File.ReadAllText(mapping).Replace("\"order\": \"order\"", "\"order\": \"order\", \"originalOrder\": \"of\"", StringComparison.Ordinal));
        var withIds = Plan(mapping,
            """{"user": "u-1", "type": "return", "ts": "2025-01-02T09:00:00Z", "order": "r-7", "of": "o-1", "product": "a", "qty": 1, "price": "10.00"}""" + "\n", "ids.jsonl");
        Assert.Equal(("r-7", "o-1"), (withIds.Events[0].Event.Refund.RefundId, withIds.Events[0].Event.Refund.OrderId));
    }

    [Fact]
    public void Epoch_seconds_then_epoch_milliseconds_reads_a_file_that_mixes_the_two()
    {
        // probe71: a millisecond value out of range as seconds ended the search: "matches none of the date formats
        // (epoch, epoch-ms)", and the only order that read them put the seconds in 1970.
        var mapping = Path.Combine(_folder.FullName, "epochs.json");
        File.WriteAllText(mapping, """
            {"format": "csv", "dateFormats": ["epoch", "epoch-ms"], "source": "web",
             "fields": {"user": "visitorid", "type": "event", "time": "timestamp", "product": "itemid"},
             "typeValues": {"view": "product_view"}}
            """);
        var plan = Plan(mapping,
            "timestamp,visitorid,event,itemid\n" +
            "1277982000000,1,view,a\n" +
            "1277982000,2,view,a\n", "epochs.csv");

        Assert.Empty(plan.Rejects);
        Assert.Equal(["2010-07-01T11:00:00Z", "2010-07-01T11:00:00Z"], plan.Events.Select(e => e.Event.OccurredAt));
    }

    [Fact]
    public void Zero_price_reject_refuses_a_free_cart_add_as_it_refuses_a_free_order_line()
    {
        // An outside probe: a 0-priced transaction was rejected under "zeroPrice": "reject", a 0-priced cart add imported.
        var mapping = Path.Combine(_folder.FullName, "priced.json");
        File.WriteAllText(mapping, """
            {"format": "csv", "dateFormats": ["epoch-ms"], "source": "web", "zeroPrice": "reject",
             "fields": {"user": "visitorid", "type": "event", "time": "timestamp", "product": "itemid", "order": "transactionid", "price": "price"},
             "typeValues": {"view": "product_view", "addtocart": "add_to_cart", "transaction": "purchase"}}
            """);
        var plan = Plan(mapping,
            "timestamp,visitorid,event,itemid,transactionid,price\n" +
            "1439380842254,1002525,addtocart,57862,,0\n" +
            "1439380902254,1002525,transaction,57862,2299,0\n" +
            "1439380962254,1002525,view,57862,,0\n", "priced.csv");

        Assert.Equal([(2L, "zero_price"), (3L, "zero_price")], plan.Rejects.Select(r => (r.Line, r.Code)));
        Assert.Equal("product_view", Assert.Single(plan.Events).Event.Type);
    }

    [Theory]
    [InlineData("events[212].product.unit_price", "product.unit_price")]
    [InlineData("events[0].purchase.lines[3].quantity", "purchase.lines[3].quantity")]
    [InlineData("tenant", "tenant")]
    public void A_field_the_grid_refused_is_named_within_its_event_not_by_its_place_in_a_batch(string grid, string written) =>
        Assert.Equal(written, ImportEventsCommand.EventField(grid));

    [Fact]
    public void An_order_over_the_grids_line_limit_is_split_and_the_warning_counts_orders_not_rows()
    {
        var rows = new StringBuilder("Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n");
        for (var line = 0; line < 201; line++)
        {
            rows.Append(System.Globalization.CultureInfo.InvariantCulture, $"500001,SKU{line},HOLDER,1,12/1/2009 07:45,1.00,13001,United Kingdom\n");
        }

        var plan = Plan(Example("online-retail-ii.json"), rows.ToString(), "wholesale.csv");

        Assert.Equal(2, plan.Events.Count);
        var (warning, count) = Assert.Single(plan.Warnings);
        Assert.Equal(1, count);
        Assert.Equal("orders", plan.WarningUnits[warning]);
    }

    [Fact]
    public void Which_lines_make_each_part_of_a_split_order_does_not_depend_on_the_files_row_order()
    {
        const string Header = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n";
        var rows = Enumerable.Range(0, 450).Select(i => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"500001,SKU{i:000},HOLDER,1,12/1/2009 07:{45 + i % 10},1.{i % 7}0,13001,{(i % 3 == 0 ? "France" : "United Kingdom")}\n")).ToList();
        var forward = Plan(Example("online-retail-ii.json"), Header + string.Concat(rows), "forward.csv");
        var shuffled = Plan(Example("online-retail-ii.json"), Header + string.Concat(rows.OrderBy(r => r.GetHashCode())), "shuffled.csv");

        Assert.Equal(3, forward.Events.Count);
        Assert.Equal(forward.Events.Select(e => e.Event.ToString()), shuffled.Events.Select(e => e.Event.ToString()));
        Assert.Equal(["500001", "500001", "500001"], forward.Events.Select(e => e.Event.Purchase.OrderId));
        Assert.Equal([1u, 2u, 3u], forward.Events.Select(e => e.Event.Purchase.Part));
        Assert.Equal(3, forward.Events.Select(e => e.Event.EventId).Distinct().Count());
        Assert.Equal([200, 200, 50], forward.Events.Select(e => e.Event.Purchase.Lines.Count));
        Assert.Equal(["SKU000", "SKU200", "SKU400"], forward.Events.Select(e => e.Event.Purchase.Lines[0].ProductId));
        // Each part's file lines are its own lines' rows (SKU200 is line 202 of the file in order).
        Assert.Equal(202L, forward.Events[1].Lines[0]);
        Assert.Equal(450, shuffled.Events.Sum(e => e.Lines.Count));
        Assert.All(forward.Events, e => Assert.Equal("FR", e.Event.Context.Country));
    }

    [Fact]
    public void A_quote_never_closed_rejects_every_line_it_runs_over_naming_where_it_opened()
    {
        // The probe's file: line 3's description opens a quote that only line 6's quoted description closes.
        var plan = Plan(Example("online-retail.json"),
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" +
            "700001,85123A,OK,2,12/1/2010 8:26,2.55,30001,United Kingdom\n" +
            "700002,85123A,\"BROKEN QUOTE,2,12/1/2010 8:26,2.55,30002,United Kingdom\n" +
            "700003,85123A,FINE,2,12/1/2010 8:26,2.55,30003,United Kingdom\n" +
            "700004,85123A,FINE,2,12/1/2010 8:26,2.55,30004,United Kingdom\n" +
            "700005,85123A,\"SET OF 3, LARGE\",2,12/1/2010 8:26,2.55,30005,United Kingdom\n" +
            "700006,85123A,FINE,2,12/1/2010 8:26,2.55,30006,United Kingdom\n");

        Assert.Equal(new long[] { 3, 4, 5, 6 }, plan.Rejects.Select(r => r.Line));
        Assert.All(plan.Rejects, r => Assert.Equal(("bad_csv", "Description"), (r.Code, r.Field)));
        Assert.Contains("a quote opened on line 3 in Description is not closed before line 6", plan.Rejects[0].Reason, StringComparison.Ordinal);
        Assert.Equal(new[] { "30001", "30006" }, plan.Events.Select(e => e.Event.UserId));
        Assert.Equal(6, plan.RowsRead);

        // A quote still open at the end of the file (probe71 F10): the lines the file has, and the rows it has.
        foreach (var (ending, last) in new[] { ("\n", "\n"), ("\r\n", "\r\n"), ("\n", "") })
        {
            var open = Plan(Example("online-retail.json"),
                "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country" + ending +
                "700001,85123A,OK,2,12/1/2010 8:26,2.55,30001,United Kingdom" + ending +
                "700002,85123A,\"WHITE, HANGING,2,12/1/2010 8:26,2.55,30002,United Kingdom" + ending +
                "700003,85123A,FINE,2,12/1/2010 8:26,2.55,30003,United Kingdom" + ending +
                "700004,85123A,FINE,2,12/1/2010 8:26,2.55,30004,United Kingdom" + last, name: "open.csv");
            Assert.Equal(new long[] { 3, 4, 5 }, open.Rejects.Select(r => r.Line));
            Assert.Contains("a quote opened on line 3 in Description is not closed before the end of the file", open.Rejects[0].Reason, StringComparison.Ordinal);
            Assert.Equal(4, open.RowsRead);
            Assert.Equal(["30001"], open.Events.Select(e => e.Event.UserId));
        }

        // A quoted field over two lines with the header's width is a description with a line break: imported.
        var multiLine = Plan(Example("online-retail.json"),
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" +
            "700001,85123A,\"TWO\nLINES\",2,12/1/2010 8:26,2.55,30001,United Kingdom\n", name: "multi.csv");
        Assert.Empty(multiLine.Rejects);
        Assert.Single(multiLine.Events);
    }

    [Fact]
    public void A_line_with_more_fields_than_the_header_is_rejected_unless_they_are_empty()
    {
        // probe50: the extra field was dropped without a word, and an unquoted comma in a description was blamed on the date.
        var plan = Plan(Example("online-retail.json"),
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" +
            "700001,A,X,1,12/1/2010 8:26,1.00,c1,United Kingdom\n" +
            "700002,A,X,1,12/1/2010 8:26,1.00,c9,United Kingdom,EXTRA\n" +
            "700003,A,SET OF 3, LARGE,1,12/1/2010 8:26,1.00,c3,United Kingdom\n" +
            "700004,A,X,1,12/1/2010 8:26,1.00,c4,United Kingdom,,\"\"\n" +
            "700005,A,X,1,12/1/2010 8:26,1.00,c5\n", "extra.csv");

        Assert.Equal([(3L, "bad_csv"), (4L, "bad_csv")], plan.Rejects.Select(r => (r.Line, r.Code)));
        Assert.Equal("has 9 fields, not the header's 8 (field 9 is not empty: an unquoted comma in a value?)", plan.Rejects[0].Reason);
        // Trailing empty fields are trailing commas; a short line reads its missing fields as empty.
        Assert.Equal(new[] { "c1", "c4", "c5" }, plan.Events.Select(e => e.Event.UserId));
    }

    [Fact]
    public void An_orders_lines_come_out_the_same_whatever_the_files_row_order()
    {
        // probe50: the profile's recent action names an order's first line, which was the first row of the file.
        const string Header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
        string[] rows =
        [
            "700001,BBB,X,1,12/1/2010 8:26,2.00,c1,United Kingdom\n",
            "700001,AAA,X,2,12/1/2010 8:26,1.00,c1,United Kingdom\n",
            "700001,AAA,X,1,12/1/2010 8:26,1.50,c1,United Kingdom\n",
            "C700002,CCC,X,-1,12/2/2010 8:26,3.00,c1,United Kingdom\n",
            "C700002,AAA,X,-1,12/2/2010 8:26,1.00,c1,United Kingdom\n",
        ];
        var forward = Plan(Example("online-retail.json"), Header + string.Concat(rows), "forward.csv");
        var backward = Plan(Example("online-retail.json"), Header + string.Concat(rows.Reverse()), "backward.csv");

        Assert.Equal(forward.Events.Select(e => e.Event.ToString()).Order(), backward.Events.Select(e => e.Event.ToString()).Order());
        var order = forward.Events.Single(e => e.Event.Purchase is not null).Event.Purchase;
        Assert.Equal(["AAA", "AAA", "BBB"], order.Lines.Select(l => l.ProductId));
        Assert.Equal(["1.00", "1.50"], order.Lines.Take(2).Select(l => l.UnitPrice));
        // Each order line keeps its file line, so that a refusal of purchase.lines[i] names the right row.
        Assert.Equal([3L, 4L, 2L], forward.Events.Single(e => e.Event.Purchase is not null).Lines);
        Assert.Equal(["AAA", "CCC"], forward.Events.Single(e => e.Event.Refund is not null).Event.Refund.Lines.Select(l => l.ProductId));
    }

    [Fact]
    public void A_json_line_with_a_key_twice_is_bad_json_not_read_by_its_last_value()
    {
        var mapping = Path.Combine(_folder.FullName, "twice.json");
        File.WriteAllText(mapping, """
            {"format": "jsonl", "groupOrders": false,
             "fields": {"user": "user", "type": "event", "time": "ts", "product": "sku"},
             "typeValues": {"view": "product_view"}}
            """);
        var plan = Plan(mapping,
            """{"user": "c-14", "event": "view", "ts": "2011-01-01T10:00:00Z", "sku": "a", "user": "c-15"}""" + "\n" +
            """{"user": "c-16", "event": "view", "ts": "2011-01-01T10:00:00Z", "sku": "a"}""" + "\n", "twice.jsonl");

        var reject = Assert.Single(plan.Rejects);
        Assert.Equal((1L, "bad_json"), (reject.Line, reject.Code));
        Assert.Contains("user", reject.Reason, StringComparison.Ordinal);
        Assert.Equal("c-16", Assert.Single(plan.Events).Event.UserId);

        // probe50: 12 and 12.0 were two products; a whole number is one id however it is written.
        var numbers = Plan(mapping,
            """{"user": "c-1", "event": "view", "ts": "2011-01-01T10:00:00Z", "sku": 12}""" + "\n" +
            """{"user": "c-1", "event": "view", "ts": "2011-01-01T10:01:00Z", "sku": 12.0}""" + "\n" +
            """{"user": "c-1", "event": "view", "ts": "2011-01-01T10:02:00Z", "sku": 1.2e1}""" + "\n" +
            """{"user": "c-1", "event": "view", "ts": "2011-01-01T10:03:00Z", "sku": 12.5}""" + "\n", "numbers.jsonl");
        Assert.Equal(["12", "12", "12", "12.5"], numbers.Events.Select(e => e.Event.Product.ProductId));

        // probe50: an object where a product id belongs was reported as "no product code".
        var nested = Plan(mapping, """{"user": "c-1", "event": "view", "ts": "2011-01-01T10:00:00Z", "sku": {"id": "a"}}""" + "\n", "nested.jsonl");
        Assert.Equal(("sku", "is a JSON object, not a string or a number", "bad_json"), nested.Rejects.Select(r => (r.Field, r.Reason, r.Code)).Single());
    }

    [Fact]
    public void A_json_boolean_or_half_a_character_in_a_mapped_field_rejects_its_row_and_the_rest_lands()
    {
        var mapping = Path.Combine(_folder.FullName, "flags.json");
        File.WriteAllText(mapping, """
            {"format": "jsonl", "groupOrders": false, "eventIdKeys": ["id"],
             "fields": {"user": "user", "type": "event", "time": "ts", "product": "sku"},
             "typeValues": {"view": "product_view"}}
            """);

        // probe71: guest checkouts written "user": false became one customer called "false"; a lone surrogate escape (an
        // emoji cut in half by a JavaScript exporter) stopped the whole import with an unhandled exception.
        var plan = Plan(mapping,
            """{"id": 1, "user": false, "event": "view", "ts": "2011-01-01T10:00:00Z", "sku": "a"}""" + "\n" +
            """{"id": 2, "user": false, "event": "view", "ts": "2011-01-01T10:01:00Z", "sku": "b"}""" + "\n" +
            """{"id": 3, "user": "lone\ud800", "event": "view", "ts": "2011-01-01T10:02:00Z", "sku": "a"}""" + "\n" +
            """{"id": 4, "user": "c-1", "event": "view", "ts": "2011-01-01T10:03:00Z", "sku": true}""" + "\n" +
            """{"id": true, "user": "c-1", "event": "view", "ts": "2011-01-01T10:04:00Z", "sku": "a", "note": "x\udc00"}""" + "\n" +
            """{"id": "\ud83d", "user": "c-1\ud83d\ude00", "event": "view", "ts": "2011-01-01T10:05:00Z", "sku": "a"}""" + "\n", "flags.jsonl");

        Assert.Equal(
            [(1L, "user", "bad_json"), (2L, "user", "bad_json"), (3L, "user", "bad_encoding"), (4L, "sku", "bad_json")],
            plan.Rejects.Select(r => (r.Line, r.Field, r.Code)));
        Assert.Equal("is a JSON boolean, not a string or a number", plan.Rejects[0].Reason);
        Assert.Contains("surrogate", plan.Rejects[2].Reason, StringComparison.Ordinal);
        Assert.Equal(["c-1", "c-1\U0001F600"], plan.Events.Select(e => e.Event.UserId));
        Assert.Equal(2, plan.Events.Select(e => e.Event.EventId).Distinct().Count());
    }

    [Fact]
    public void A_german_export_reads_grouped_thousands_decimal_commas_and_local_times_in_its_zone()
    {
        var plan = Plan(Example("orders-de.json"),
            "Bestellung;Kunde;Artikel;Menge;Preis;Datum\n" +
            "A-1;k-7;tisch;1;1.234,50;02.12.2010 10:07\n" +
            "A-1;k-7;stuhl;4;89,90;02.12.2010 10:07\n" +
            "A-2;k-7;lampe;1;19,99;27.03.2011 02:30\n" +
            "A-3;k-7;vase;1;9,99;30.10.2011 02:30\n");

        Assert.Empty(plan.Rejects);
        var order = plan.Events[0].Event;
        Assert.Equal(("A-1", "EUR", "2010-12-02T09:07:00Z"), (order.Purchase.OrderId, order.Purchase.Currency, order.OccurredAt));
        Assert.Equal(new[] { "89.90", "1234.50" }, order.Purchase.Lines.Select(l => l.UnitPrice));
        // Lines sorted by product; codes keep their case unless the mapping asks (only the Online Retail examples do): "tisch" is the live API's id too.
        Assert.Equal(new[] { "stuhl", "tisch" }, order.Purchase.Lines.Select(l => l.ProductId));
        Assert.Equal(new long[] { 3, 2 }, plan.Events[0].Lines); // the file lines in the order of the order's lines
        // 02:30 on 27 March 2011 does not exist in Berlin (clocks went from 02:00 to 03:00): read as the hour after.
        Assert.Equal("2011-03-27T01:30:00Z", plan.Events[1].Event.OccurredAt);
        // 02:30 on 30 October 2011 happened twice (clocks went back from 03:00 to 02:00): read as the first, summer time.
        Assert.Equal("2011-10-30T00:30:00Z", plan.Events[2].Event.OccurredAt);
    }

    [Fact]
    public void An_excel_export_with_trailing_empty_columns_imports_and_a_mapped_column_named_twice_is_refused()
    {
        // "...,Country,," names the empty column twice; the mapping does not use it, so the file is fine.
        var plan = Plan(Example("online-retail.json"),
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country,,\r\n" +
            "536365,85123A,\"WHITE HANGING HEART T-LIGHT HOLDER\",6,12/1/2010 8:26,2.55,17850,United Kingdom,,\r\n" +
            "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom,,\r\n");
        Assert.Empty(plan.Rejects);
        Assert.Equal(2, plan.RowsImported);
        Assert.Equal(new long[] { 3, 2 }, plan.Events.Single().Lines); // in the order of the order's lines (71053 before 85123A)

        // A column the mapping names, twice: which one holds the customer is unknown, so the header is refused.
        var twice = Assert.Throws<InvalidDataException>(() => Plan(Example("online-retail.json"),
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country,CustomerID\n" +
            "536365,85123A,X,6,12/1/2010 8:26,2.55,17850,United Kingdom,17851\n", "twice.csv"));
        Assert.Contains("'CustomerID', which the header has twice (columns 7 and 9)", twice.Message);

        var empty = Assert.Throws<InvalidDataException>(() => Plan(Example("online-retail.json"), "", "empty.csv"));
        Assert.Contains("the file is empty", empty.Message);
    }

    [Fact]
    public void Codes_keep_their_case_unless_the_mapping_upper_cases_them_as_online_retail_does()
    {
        var clicks = Plan(Example("clickstream.json"),
            """{"user":"u-1","type":"buy","ts":1291191960,"order":"o-1","product":" sku-1 ","category":"Shoes","qty":2,"price":"59.90"}""" + "\n" +
            """{"user":"u-1","type":"buy","ts":1291191960,"order":"O-1","product":"SKU-1","category":"Shoes","qty":1,"price":"59.90"}""" + "\n",
            "clicks.jsonl");
        Assert.Equal(new[] { "o-1", "O-1" }, clicks.Events.Select(e => e.Event.Purchase.OrderId));
        Assert.Equal(new[] { "sku-1", "SKU-1" }, clicks.Events.Select(e => e.Event.Purchase.Lines[0].ProductId));

        var retail = Plan(Example("online-retail.json"),
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" +
            "536365,85123a ,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n" +
            "c536366,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-1,12/1/2010 8:30,2.55,17850,United Kingdom\n");
        Assert.Equal(new[] { "85123A" }, retail.Events[0].Event.Purchase.Lines.Select(l => l.ProductId));
        Assert.Equal(("refund", "C536366"), (retail.Events[1].Event.Type, retail.Events[1].Event.Refund.RefundId));
    }

    [Fact]
    public void A_customer_id_that_pandas_wrote_as_a_float_is_the_customer_of_the_original_file()
    {
        // pandas writes an integer column with gaps (Online Retail's CustomerID) as 17850.0: the same customer as 17850,
        // who must not become a second profile beside the one the live API or an Excel export names.
        var retail = Plan(Example("online-retail.json"),
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" +
            "536365,85123A,HEART,6,12/1/2010 8:26,2.55,17850.0,United Kingdom\n" +
            "536366,85123A,HEART,1,12/1/2010 8:30,2.55,17850,United Kingdom\n" +
            "536367,85123A,HEART,1,12/1/2010 8:31,2.55,17850.5,United Kingdom\n" +
            "536368,85123A,HEART,1,12/1/2010 8:32,2.55,AB12.0,United Kingdom\n");
        Assert.Equal(new[] { "17850", "17850", "17850.5", "AB12.0" }, retail.Events.Select(e => e.Event.UserId));

        var clicks = Plan(Example("clickstream.json"),
            """{"user":"17850.0","type":"buy","ts":1291191960,"order":"o-1","product":"sku-1","category":"Shoes","qty":1,"price":"59.90"}""" + "\n",
            "clicks.jsonl");
        Assert.Equal("17850.0", clicks.Events.Single().Event.UserId);
        Assert.Equal("-12", ImportPlanner.WithoutZeroFraction("-12.00"));
        Assert.Equal(".0", ImportPlanner.WithoutZeroFraction(".0"));
        Assert.Equal("12.", ImportPlanner.WithoutZeroFraction("12."));
        Assert.Equal("0", ImportPlanner.WithoutZeroFraction("0.0"));

        // pandas writes no leading zeros: "007.0" is a code as typed, and stays one apart from customer 7.
        Assert.Equal("007.0", ImportPlanner.WithoutZeroFraction("007.0"));
        Assert.Equal("-07.0", ImportPlanner.WithoutZeroFraction("-07.0"));
    }

    [Fact]
    public void A_jsonl_quantity_written_1e3_or_1000_0_is_1000_units_and_1_5_or_1e400_is_rejected_naming_the_field()
    {
        // 1e3 is a JSON number equal to 1000 (JavaScript's JSON.stringify never writes it, but numpy and Java's
        // BigDecimal can); it was rejected as not a whole number.
        string Line(int i, string qty) => $$"""{"user":"u-{{i}}","type":"buy","ts":1291191960,"order":"o-{{i}}","product":"sku-1","category":"Shoes","qty":{{qty}},"price":"1.00"}""" + "\n";
        var plan = Plan(Example("clickstream.json"),
            Line(1, "1e3") + Line(2, "1000.0") + Line(3, "1E+3") + Line(4, "1.5") + Line(5, "1e400") + Line(6, "1e-400") + Line(7, "1e6") + Line(8, "-2e0"),
            "clicks.jsonl");

        Assert.Equal(new[] { ("u-1", 1000), ("u-2", 1000), ("u-3", 1000) }, plan.Events.Take(3).Select(e => (e.Event.UserId, e.Event.Purchase.Lines.Single().Quantity)));
        // A negative quantity is a return (negativeQuantityIsRefund), written with an exponent or not.
        Assert.Equal(("u-8", 2), (plan.Events[3].Event.UserId, plan.Events[3].Event.Refund.Lines.Single().Quantity));
        Assert.Equal(
            new[]
            {
                (4L, "qty", "'1.5' is not a whole number of units (up to 100000)"),
                (5L, "qty", "'1e400' is not a whole number of units (up to 100000)"),
                (6L, "qty", "'1e-400' is not a whole number of units (up to 100000)"),
                (7L, "qty", "'1e6' is not a whole number of units (up to 100000)"),
            },
            plan.Rejects.Select(r => (r.Line, r.Field, r.Reason)));
    }

    [Fact]
    public void Rows_equal_in_every_mapped_field_but_not_exact_duplicates_are_two_events_with_ids_a_reimport_repeats()
    {
        // Two views of one product in the same second on two pages ("page" is not mapped): pandas counts three rows with
        // the third view, and so must the profile. They made one event id, and the grid dropped the second as a repeat
        // while the summary said it was imported.
        var lines =
            """{"user":"u-3","type":"view","ts":1291191960,"product":"sku-7","category":"Shoes","page":"/a"}""" + "\n" +
            """{"user":"u-3","type":"view","ts":1291191960,"product":"sku-7","category":"Shoes","page":"/b"}""" + "\n" +
            """{"user":"u-3","type":"view","ts":1291191960,"product":"sku-7","category":"Shoes","page":"/b"}""" + "\n" +
            """{"user":"u-3","type":"view","ts":1291192000,"product":"sku-7","category":"Shoes","page":"/a"}""" + "\n";
        var plan = Plan(Example("clickstream.json"), lines, "clicks.jsonl");
        Assert.Equal(3, plan.Events.Count);
        Assert.Equal(3, plan.Events.Select(e => e.Event.EventId).Distinct().Count());
        Assert.Equal((3L, "exact duplicate of line 2"), (plan.Rejects.Single().Line, plan.Rejects.Single().Reason));
        Assert.Equal(plan.Events.Select(e => e.Event.EventId), Plan(Example("clickstream.json"), lines, "again.jsonl").Events.Select(e => e.Event.EventId));

        // Under explicit eventIdKeys the same values are the same event: named in the rejects, not sent to vanish.
        var mapping = Path.Combine(_folder.FullName, "keyed-clicks.json");
        File.WriteAllText(mapping, File.ReadAllText(Example("clickstream.json")).Replace("\"eventIdPrefix\"", "\"eventIdKeys\": [\"user\", \"product\", \"ts\"],\n  \"eventIdPrefix\"", StringComparison.Ordinal));
        var keyed = Plan(mapping, lines, "keyed.jsonl");
        Assert.Equal(2, keyed.Events.Count);
        Assert.Contains(keyed.Rejects, r => r.Line == 2 && r.Code == "duplicate_event_id" && r.Reason.StartsWith("same event id as line 1", StringComparison.Ordinal));
    }

    [Fact]
    public void Rows_that_differ_only_in_how_a_writer_quoted_them_are_exact_duplicates()
    {
        // probe65: a file appended from two writers (one quoting every field, one only where needed) held each such
        // pair twice; pandas reads the same values and drops the second, the importer compared the raw text and counted
        // the order line twice (customer 15456: 22.44 GBP for 11.22).
        var header = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n";
        var rows = header +
            "492624,20728,12\" VINYL RECORD FRAME,6,2010-03-11 09:39:00,1.87,15456.0,USA\n" +
            "492624,20728,\"12\"\" VINYL RECORD FRAME\",6,2010-03-11 09:39:00,1.87,15456.0,USA\n" +
            "492625,20729,FRAME,1,2010-03-12 09:39:00,2.00,15457.0,USA\n" +
            "\"492625\",\"20729\",\"FRAME\",\"1\",\"2010-03-12 09:39:00\",\"2.00\",\" 15457.0 \",\"USA\"\n" +
            "492625,20729,FRAME,1,2010-03-12 09:39:00,2.00,15457,USA\n";
        var plan = Plan(Example("online-retail-ii.json"), rows, "two-writers.csv");

        Assert.Equal(2L, plan.Duplicates);
        Assert.Equal(new[] { (3L, "exact duplicate of line 2"), (5L, "exact duplicate of line 4") }, plan.Rejects.Select(r => (r.Line, r.Reason)));
        // 15457 and 15457.0 are not the same text: a row the docs say is imported, and it is.
        Assert.Equal(new[] { 6, 1 + 1 }, plan.Events.Select(e => e.Event.Purchase.Lines.Sum(l => l.Quantity)));
    }

    [Fact]
    public void A_price_written_with_an_exponent_is_the_number_pandas_reads()
    {
        // probe65 F8: pandas re-saves small floats as 1e-05; such a row was rejected as bad_price.
        var header = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n";
        var rows = header +
            "600006,22423,REGENCY CAKESTAND 3 TIER,1,2011-06-02 10:00:00,1.275E1,20004.0,United Kingdom\n" +
            "600007,22424,PADS,1,2011-06-02 10:00:00,1e-03,20005.0,United Kingdom\n" +
            "600008,22425,CAKE,1,2011-06-02 10:00:00,12.7x,20006.0,United Kingdom\n";
        var plan = Plan(Example("online-retail-ii.json"), rows, "exponent.csv");

        Assert.Equal(new[] { "12.75", "0.001" }, plan.Events.Select(e => decimal.Parse(e.Event.Purchase.Lines.Single().UnitPrice, System.Globalization.CultureInfo.InvariantCulture).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal((4L, "bad_price"), (plan.Rejects.Single().Line, plan.Rejects.Single().Code));
    }

    [Fact]
    public void A_quote_inside_an_unquoted_field_is_a_character_and_loses_no_row_after_it()
    {
        // Inches in a description: pandas reads 5 rows here; counting that quote as an opening one joined every row after
        // it into one field, and those rows were neither imported nor rejected.
        var plan = Plan(Example("online-retail.json"),
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" +
            "536365,85123A,\"MULTI\nLINE, QUOTED \"\"DESCRIPTION\"\"\",6,12/1/2010 8:26,2.55,17850,United Kingdom\n" +
            "536366,22222,12\" VINYL RECORD FRAME,1,12/1/2010 8:28,1.85,17850,United Kingdom\n" +
            "536367,84879,\"SET OF 3, LARGE\",32,12/1/2010 8:34,1.69,13047,United Kingdom\n" +
            "536368,84880,9\" X 12\" FRAME,2,12/1/2010 8:35,1.69,13048,United Kingdom\n" +
            "536369,84881,BIRD ORNAMENT,2,12/1/2010 8:36,1.69,13049,United Kingdom\n");

        Assert.Empty(plan.Rejects);
        Assert.Equal(5, plan.RowsRead);
        Assert.Equal(new[] { "536365", "536366", "536367", "536368", "536369" }, plan.Events.Select(e => e.Event.Purchase.OrderId));
        Assert.Equal(new long[] { 2, 4, 5, 6, 7 }, plan.Events.Select(e => e.Lines.Single()));
        Assert.Equal(new[] { "13047", "13048", "13049" }, plan.Events.Skip(2).Select(e => e.Event.UserId));
    }

    [Fact]
    public void A_windows_1252_export_read_as_utf8_rejects_its_rows_by_field_and_is_read_right_when_the_mapping_names_its_encoding()
    {
        // Excel's CSV on a German Windows: "Müller" and "Mäller" are bytes FC and E4, not UTF-8. Read as UTF-8 with
        // replacement both became "M\uFFFDller": two customers made one, silently.
        var text = "Bestellung;Kunde;Artikel;Menge;Preis;Datum\n" +
            "A-1;Müller;Äpfel;1;1,50;02.12.2010 10:07\n" +
            "A-2;Mäller;Äpfel;2;1,50;02.12.2010 10:08\n";
        var path = Path.Combine(_folder.FullName, "excel.csv");
        File.WriteAllBytes(path, System.Text.CodePagesEncodingProvider.Instance.GetEncoding(1252)!.GetBytes(text));
        var (mapping, _) = ImportMapping.Load(Example("orders-de.json"));

        var asUtf8 = new ImportPlanner(mapping).Plan(path);
        Assert.Empty(asUtf8.Events);
        Assert.Equal(new[] { (2L, "Kunde", "bad_encoding"), (3L, "Kunde", "bad_encoding") }, asUtf8.Rejects.Select(r => (r.Line, r.Field, r.Code)));
        Assert.Contains("windows-1252", asUtf8.Rejects[0].Reason);

        mapping.TextEncoding = "windows-1252";
        var plan = new ImportPlanner(mapping).Plan(path);
        Assert.Equal(new[] { "Müller", "Mäller" }, plan.Events.Select(e => e.Event.UserId));
        Assert.Equal("Äpfel", plan.Events[0].Event.Purchase.Lines[0].ProductId);

        // A byte windows-1252 has no character for (0x81, 0x8D, 0x8F, 0x90, 0x9D) is the file's encoding problem, named
        // as such, not a control character the grid refuses later (probe62 F6).
        var cp1252 = System.Text.CodePagesEncodingProvider.Instance.GetEncoding(1252)!;
        File.WriteAllBytes(path, [.. cp1252.GetBytes(text), .. cp1252.GetBytes("A-3;X"), 0x81, .. cp1252.GetBytes("Y;Äpfel;1;1,50;02.12.2010 10:09\n")]);
        var holed = new ImportPlanner(mapping).Plan(path);
        Assert.Equal(2, holed.Events.Count);
        Assert.Equal((4L, "Kunde", "bad_encoding"), (holed.Rejects.Single().Line, holed.Rejects.Single().Field, holed.Rejects.Single().Code));
    }

    [Fact]
    public void An_order_over_the_grids_line_limit_is_split_into_parts_with_a_warning()
    {
        var rows = new StringBuilder("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n");
        for (var i = 0; i < 450; i++)
        {
            rows.Append($"536999,{20000 + i},ITEM {i},1,12/1/2010 9:00,1.00,17850,United Kingdom\n");
        }

        var plan = Plan(Example("online-retail.json"), rows.ToString());

        // One order in three numbered parts (the grid counts it once); each part's event id is the one the release that
        // sent parts as orders "536999~2", "536999~3" gave it, so a file imported then is recognised, not counted again.
        Assert.Equal(new[] { "536999", "536999", "536999" }, plan.Events.Select(e => e.Event.Purchase.OrderId));
        Assert.Equal(new[] { 1u, 2u, 3u }, plan.Events.Select(e => e.Event.Purchase.Part));
        Assert.Equal(new[] { 200, 200, 50 }, plan.Events.Select(e => e.Event.Purchase.Lines.Count));
        Assert.Equal(
            new[] { "536999", "536999~2", "536999~3" }.Select(order => "uci-retail-" + Convert.ToHexStringLower(
                System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\u001f', "purchase", "17850", "", order, "GBP"))).AsSpan(0, 12))),
            plan.Events.Select(e => e.Event.EventId));
        Assert.Contains(plan.Warnings.Keys, w => w.Contains("sent in parts", StringComparison.Ordinal));
        Assert.Equal(450, plan.RowsImported);
    }

    /// <summary>
    /// probe54: an invoice with lines in EUR and GBP was planned as two whole purchases under one order id; the grid took
    /// the second for a repeat of the first and its 20.00 GBP was lost, the import reporting nothing. Now the currencies'
    /// lines are parts of one order (numbered in currency code order), and a cancellation's second currency a refund of
    /// its own id, so nothing is taken for a repeat; event ids are what they were.
    /// </summary>
    [Fact]
    public void An_order_with_lines_in_two_currencies_is_sent_as_parts_of_one_order()
    {
        var mapping = Path.Combine(_folder.FullName, "currencies.json");
        File.WriteAllText(mapping, """
            { "dateFormats": ["yyyy-MM-dd HH:mm:ss"], "refundOrderPrefix": "C", "negativeQuantityIsRefund": true, "defaultCategory": "shop",
              "fields": { "order": "order", "product": "sku", "quantity": "qty", "price": "price", "currency": "cur", "time": "date", "user": "customer" } }
            """);
        var plan = Plan(mapping, "order,sku,qty,price,cur,date,customer\n" +
            "O-1,A,1,10.00,GBP,2011-01-05 10:00:00,c1\nO-1,B,1,20.00,EUR,2011-01-05 10:00:00,c1\nO-2,A,1,5.00,EUR,2011-01-06 10:00:00,c1\n" +
            "C-9,A,-1,10.00,EUR,2011-01-07 10:00:00,c1\nC-9,B,-1,20.00,GBP,2011-01-07 10:00:00,c1\n");

        var purchases = plan.Events.Select(e => e.Event).Where(e => e.Purchase is not null).OrderBy(e => e.Purchase.OrderId).ThenBy(e => e.Purchase.Part).ToList();
        Assert.Equal(
            [("O-1", "EUR", 1u, 20.00m), ("O-1", "GBP", 2u, 10.00m), ("O-2", "EUR", 0u, 5.00m)],
            purchases.Select(e => (e.Purchase.OrderId, e.Purchase.Currency, e.Purchase.Part, decimal.Parse(e.Purchase.Lines[0].UnitPrice, System.Globalization.CultureInfo.InvariantCulture))));
        Assert.False(purchases[2].Purchase.HasPart); // a single-currency order stays whole
        var refunds = plan.Events.Select(e => e.Event.Refund).Where(r => r is not null).OrderBy(r => r!.RefundId, StringComparer.Ordinal).ToList();
        Assert.Equal([("C-9", "EUR"), ("C-9~GBP", "GBP")], refunds.Select(r => (r!.RefundId, r.Currency)));
        Assert.Equal(5, plan.Events.Select(e => e.Event.EventId).Distinct().Count());
        Assert.Contains(plan.Warnings.Keys, w => w.Contains("more than one currency", StringComparison.Ordinal));
    }

    /// <summary>
    /// review57: an order of more parts than the grid takes would have its later parts refused after the first counted,
    /// importing part of it; it is rejected whole, line by line, before anything is sent (here with parts of 2 lines).
    /// </summary>
    [Fact]
    public void An_order_of_more_parts_than_the_grid_takes_is_rejected_whole()
    {
        var rows = new StringBuilder("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n");
        for (var i = 0; i < 2 * ImportPlanner.MaxOrderParts + 1; i++)
        {
            rows.Append(System.Globalization.CultureInfo.InvariantCulture, $"536999,{20000 + i},ITEM,1,12/1/2010 9:00,1.00,17850,United Kingdom\n");
        }

        rows.Append("537000,20000,ITEM,1,12/1/2010 9:00,1.00,17850,United Kingdom\n");
        var path = Path.Combine(_folder.FullName, "huge.csv");
        File.WriteAllText(path, rows.ToString());
        var plan = new ImportPlanner(ImportMapping.Load(Example("online-retail.json")).Mapping) { MaxLinesPerOrder = 2 }.Plan(path);

        Assert.Equal(["537000"], plan.Events.Select(e => e.Event.Purchase.OrderId));
        Assert.Equal(1, plan.RowsImported);
        Assert.Equal(2 * ImportPlanner.MaxOrderParts + 1, plan.Rejects.Count(r => r.Code == "order_too_large"));
        Assert.Contains("more than the 250 parts", plan.Rejects[0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_file_planned_twice_gives_the_same_event_ids_and_other_orders_other_ids()
    {
        const string text = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" +
            "536365,85123A,X,6,12/1/2010 8:26,2.55,17850,United Kingdom\n536366,85123A,X,6,12/1/2010 8:26,2.55,17850,United Kingdom\n" +
            "C536367,85123A,X,-1,12/1/2010 9:26,2.55,17850,United Kingdom\n";

        var first = Plan(Example("online-retail.json"), text).Events.Select(e => e.Event.EventId).ToList();
        var second = Plan(Example("online-retail.json"), text).Events.Select(e => e.Event.EventId).ToList();

        Assert.Equal(first, second);
        Assert.Equal(3, first.Distinct().Count());
        Assert.All(first, id => Assert.StartsWith("uci-retail-", id, StringComparison.Ordinal));
    }

    [Fact]
    public void A_mapping_with_mistakes_is_refused_with_every_problem()
    {
        var path = Path.Combine(_folder.FullName, "bad.json");
        File.WriteAllText(path, """{ "format": "xml", "timeZone": "Mars/Olympus", "fields": { "product": "sku" }, "missingUser": "guess" }""");

        var error = Assert.Throws<InvalidDataException>(() => ImportMapping.Load(path));

        Assert.Contains("format: csv or jsonl", error.Message);
        Assert.Contains("timeZone: 'Mars/Olympus'", error.Message);
        Assert.Contains("fields.time: required", error.Message);
        Assert.Contains("missingUser: reject or anonymous", error.Message);

        File.WriteAllText(path, """{ "fields": { "time": "t", "user": "u" }, "colums": {} }""");
        Assert.Contains("colums", Assert.Throws<InvalidDataException>(() => ImportMapping.Load(path)).Message);

        // A misspelt field is named with the fields there are, not with .NET's type names (a black-box finding).
        File.WriteAllText(path, """{ "fields": { "time": "t", "user": "u" }, "refundOrderPrefx": "C" }""");
        var misspelt = Assert.Throws<InvalidDataException>(() => ImportMapping.Load(path)).Message;
        Assert.Contains("'refundOrderPrefx' (line 1) is not a mapping field; the fields are ", misspelt);
        Assert.Contains("refundOrderPrefix", misspelt);
        Assert.DoesNotContain(".NET", misspelt);

        // probe71: a misspelt event field was answered with the top-level names, none of which "fields" takes.
        File.WriteAllText(path, """{ "fields": { "time": "t", "user": "u", "prcie": "p" } }""");
        var misspeltField = Assert.Throws<InvalidDataException>(() => ImportMapping.Load(path)).Message;
        Assert.Contains("'prcie' in fields (line 1) is not an event field; the event fields are ", misspeltField);
        Assert.Contains("price", misspeltField);
        Assert.DoesNotContain("refundOrderPrefix", misspeltField);
    }
}
