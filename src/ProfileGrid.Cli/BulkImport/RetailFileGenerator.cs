using System.CommandLine;
using System.Globalization;
using System.Text;
using Spectre.Console;

namespace ProfileGrid.Cli.BulkImport;

/// <summary>
/// <c>profilegrid generate-retail</c>: writes a large CSV shaped like the UCI Online Retail export (invoices over many
/// lines, cancellations "C..." with negative quantities, rows without a customer, zero prices, quoted descriptions with
/// commas, trailing spaces in codes, exact duplicate rows) for the import benchmark. Deterministic per seed.
/// </summary>
internal static class RetailFileGenerator
{
    private static readonly string[] Countries = ["United Kingdom", "United Kingdom", "United Kingdom", "United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands", "Unspecified"];

    public static Command Build(IAnsiConsole console)
    {
        var rows = new Option<int>("--rows") { Description = "Data rows to write.", DefaultValueFactory = _ => 1_000_000 };
        var output = new Option<FileInfo>("--out") { Description = "The CSV to write.", Required = true };
        var customers = new Option<int>("--customers") { Description = "Distinct customers.", DefaultValueFactory = _ => 4_000 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 7 };
        var command = new Command("generate-retail", "Write an Online Retail-shaped CSV (for the import benchmark).") { rows, output, customers, seed };
        command.SetAction(parse =>
        {
            var path = parse.GetRequiredValue(output).FullName;
            var written = Write(path, parse.GetValue(rows), parse.GetValue(customers), parse.GetValue(seed));
            console.MarkupLineInterpolated($"{path}: {written:N0} rows");
            return 0;
        });
        return command;
    }

    public static int Write(string path, int rows, int customers, int seed)
    {
        var random = new Random(seed);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 16);
        writer.Write("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n");
        var time = new DateTime(2010, 12, 1, 8, 26, 0);
        var invoice = 536365;
        var written = 0;
        string? previous = null;
        while (written < rows)
        {
            invoice++;
            time = time.AddMinutes(random.Next(1, 12));
            var cancelled = random.NextDouble() < 0.02;
            var customer = random.NextDouble() < 0.1 ? "" : (12346 + random.Next(customers)).ToString(CultureInfo.InvariantCulture) + ".0";
            var country = Countries[random.Next(Countries.Length)];
            var lines = cancelled ? random.Next(1, 3) : random.Next(1, 40);
            for (var l = 0; l < lines && written < rows; l++)
            {
                if (previous is not null && random.NextDouble() < 0.01)
                {
                    writer.Write(previous); // an exact duplicate row, as the real export has
                    written++;
                    continue;
                }

                var product = 20000 + random.Next(4000);
                var code = random.Next(5) == 0 ? $"{product}A " : product.ToString(CultureInfo.InvariantCulture);
                var quantity = (cancelled ? -1 : 1) * (1 + random.Next(24));
                var price = random.NextDouble() < 0.003 ? 0m : Math.Round((decimal)(0.29 + random.NextDouble() * 15), 2);
                var description = random.Next(4) == 0 ? $"\"SET OF {random.Next(2, 12)} TEA TOWELS, VINTAGE\"" : $"HEART T-LIGHT HOLDER {product % 97}";
                var row = string.Create(CultureInfo.InvariantCulture,
                    $"{(cancelled ? "C" : "")}{invoice},{code},{description},{quantity},{time:M/d/yyyy H:mm},{price},{customer},{country}\n");
                writer.Write(row);
                previous = row;
                written++;
            }
        }

        return written;
    }
}
