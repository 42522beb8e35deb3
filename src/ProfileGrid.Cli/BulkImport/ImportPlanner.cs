using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using nietras.SeparatedValues;
using ProfileGrid.Contracts;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Recommendations.Import;

namespace ProfileGrid.Cli.BulkImport;

/// <summary>A row not imported: its line in the file, the field at fault (empty: the whole row) and why.</summary>
public sealed record ImportReject(long Line, string Field, string Reason, string Code);

/// <summary>One event to send and the file lines it came from (an order's lines are many rows).</summary>
public sealed record PlannedEvent(Event Event, List<long> Lines)
{
    /// <summary>The earliest line's time of an order (formatted into the event once, not per line).</summary>
    internal DateTimeOffset Earliest { get; set; } = DateTimeOffset.MaxValue;

    /// <summary>What groups an order's rows (kind, user, anonymous id, order id, currency); null for an event of one row.</summary>
    internal (string Kind, string User, string Anonymous, string Order, string Currency)? OrderKey { get; init; }
}

/// <summary>What one pass over the file found: the events in file order, the rows not imported, and the counts.</summary>
public sealed class ImportPlan
{
    public List<PlannedEvent> Events { get; } = [];
    public List<ImportReject> Rejects { get; } = [];
    public long RowsRead { get; set; }
    public long BlankLines { get; set; }
    public long Duplicates { get; set; }
    public long RowsImported { get; set; }
    public long RefundEvents => Events.Count(e => e.Event.Type == "refund");
    public Dictionary<string, long> Warnings { get; } = new(StringComparer.Ordinal);

    /// <summary>What each warning counts, when not rows ("orders").</summary>
    public Dictionary<string, string> WarningUnits { get; } = new(StringComparer.Ordinal);

    public void Warn(string warning, string unit = "rows")
    {
        Warnings[warning] = Warnings.GetValueOrDefault(warning) + 1;
        if (unit != "rows")
        {
            WarningUnits[warning] = unit;
        }
    }
}

/// <summary>
/// Reads a CSV (Sep) or JSONL export and cleans it into the grid's events by an <see cref="ImportMapping"/>: codes
/// trimmed and upper-cased, numbers in the file's locale, times in its formats and zone, exact duplicate rows dropped,
/// lines of one order grouped into one purchase, cancellations and negative quantities into refunds. Every row it does
/// not import is a reject with its line, field and reason; nothing in the file is fatal but a missing mapped column.
/// </summary>
public sealed class ImportPlanner
{
    /// <summary>The grid's limit on the lines of one purchase (GatewayOptions.MaxPurchaseLines); larger orders are split.</summary>
    public int MaxLinesPerOrder { get; init; } = 200;

    /// <summary>The longest id the grid takes by default (its ProfileGrid:Gateway:MaxStringLength).</summary>
    public const int MaxIdLength = 256;

    /// <summary>The most parts the grid takes for one order (its PurchaseInfo.MaxParts; a test holds the two equal).</summary>
    public const int MaxOrderParts = 250;

    private enum Slot { User, Anonymous, Type, Time, Order, OriginalOrder, Product, Category, Quantity, Price, Currency, Country }

    private static readonly int SlotCount = Enum.GetValues<Slot>().Length;

    private readonly ImportMapping _mapping;
    private readonly NumberFormatInfo _numbers;
    private readonly TimeZoneInfo _zone;
    private readonly string?[] _columns;
    private readonly Dictionary<UInt128, long> _seen = [];

    // windows-1252 has no character for 0x81, 0x8D, 0x8F, 0x90 and 0x9D; .NET reads them as the C1 controls of the same
    // number (as Windows does), which the grid then refuses as control characters. They are the file's encoding problem.
    private readonly SearchValues<char>? _undefinedBytesRead;

    // Ungrouped events by id: the line that made it first, and how many rows made it.
    private readonly Dictionary<string, (long FirstLine, int Rows)> _ungroupedIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _ungroupedOrders = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Kind, string User, string Anonymous, string Order, string Currency), PlannedEvent> _orders = [];
    private readonly Dictionary<string, string> _typeValues;
    private readonly Dictionary<string, string> _countries;
    private readonly HashSet<string> _missingUserValues;
    private readonly ImportPlan _plan = new();

    public ImportPlanner(ImportMapping mapping)
    {
        _mapping = mapping;
        _undefinedBytesRead = mapping.TextEncoding.ToLowerInvariant() is "windows-1252" or "cp1252" ? SearchValues.Create("\u0081\u008D\u008F\u0090\u009D") : null;
        NumberFormats.TryGet(mapping.Locale, mapping.DecimalSeparator, mapping.GroupSeparator, out _numbers);
        _zone = mapping.Zone;
        var f = mapping.Fields;
        _columns = [f.User, f.Anonymous, f.Type, f.Time, f.Order, f.OriginalOrder, f.Product, f.Category, f.Quantity, f.Price, f.Currency, f.Country];
        _typeValues = new Dictionary<string, string>(mapping.TypeValues, StringComparer.OrdinalIgnoreCase);
        _countries = new Dictionary<string, string>(mapping.Countries, StringComparer.OrdinalIgnoreCase);
        _missingUserValues = new HashSet<string>(mapping.MissingUserValues, StringComparer.Ordinal);
    }

    /// <summary>Plans the import of <paramref name="path"/>; throws <see cref="InvalidDataException"/> when a mapped column is missing.</summary>
    public ImportPlan Plan(string path, CancellationToken cancellationToken = default)
    {
        if (_mapping.Format == "jsonl")
        {
            ReadJsonLines(path, cancellationToken);
        }
        else
        {
            ReadCsv(path, cancellationToken);
        }

        // Orders sorted, then split at the grid's line limit, so that which lines make each part does not depend on the
        // file's row order either.
        var planned = _plan.Events.ToList();
        _plan.Events.Clear();
        var currenciesOfOrder = new Dictionary<(string Kind, string User, string Anonymous, string Order), List<(string Currency, List<PlannedEvent> Events)>>();
        foreach (var one in planned)
        {
            SortLines(one);
            _plan.Events.Add(one);
            if (one.OrderKey is not { } key)
            {
                continue;
            }

            List<PlannedEvent> events = [one];
            if (LinesOf(one.Event).Count > MaxLinesPerOrder)
            {
                events.AddRange(SplitOrder(one, key));
                _plan.Events.AddRange(events.Skip(1));
            }

            var order = (key.Kind, key.User, key.Anonymous, key.Order);
            if (!currenciesOfOrder.TryGetValue(order, out var currencies))
            {
                currenciesOfOrder[order] = currencies = [];
            }

            currencies.Add((key.Currency, events));
        }

        foreach (var (order, currencies) in currenciesOfOrder.Where(o => o.Value.Count > 1))
        {
            KeepEveryCurrency(order.Order, currencies);
        }

        foreach (var currencies in currenciesOfOrder.Values.Where(c => c[0].Events[0].Event.Purchase is not null && c.Sum(g => g.Events.Count) > MaxOrderParts))
        {
            RejectOversizedOrder(currencies.SelectMany(g => g.Events).ToList());
        }

        if (_dayMonthSwapped is { } swapped && swapped.Rows >= MinSwappedRows && swapped.Rows * 1000L >= _timedRows)
        {
            throw new InvalidDataException(
                $"{swapped.Rows:N0} of {_timedRows:N0} rows have a date that reads only with day and month swapped (line {swapped.Line}: " +
                $"'{swapped.Value}' against {string.Join(", ", _mapping.DateFormats)}; it reads as {swapped.Format}). The file's dates are most " +
                $"likely in that order, and its rows with a day of 12 or less would be imported on wrong dates: put \"{swapped.Format}\" " +
                "in dateFormats (before the other) and run again. Nothing was sent.");
        }

        return _plan;
    }

    // A few rows of the other order are rejected one by one (a typo); this many, and a thousandth of the rows, mean the
    // file is in the other order, and then its ambiguous dates (day 12 or less) are wrong too: the import is refused.
    private const int MinSwappedRows = 10;

    private long _timedRows;
    private (long Rows, long Line, string Value, string Format)? _dayMonthSwapped;

    private void ReadCsv(string path, CancellationToken cancellationToken)
    {
        using var text = new StrayQuoteReader(
            new StreamReader(path, _mapping.Decoder()!, detectEncodingFromByteOrderMarks: true, new FileStreamOptions { BufferSize = 1 << 16 }), _mapping.Delimiter[0]);
        // The header is read as a row: Sep refuses a header that has a name twice (Excel's trailing empty columns,
        // "...,Country,,"), and such a file is fine as long as the columns the mapping names appear once.
        using var reader = new SepReaderOptions(new Sep(_mapping.Delimiter[0]))
        {
            HasHeader = false,
            DisableColCountCheck = true,
        }.From(text);
        var header = new List<string>();
        if (reader.MoveNext())
        {
            var first = reader.Current;
            for (var c = 0; c < first.ColCount; c++)
            {
                header.Add(StrayQuoteReader.Field(first[c].Span).Trim().TrimStart('\uFEFF').Trim());
            }
        }

        var index = new int[SlotCount];
        var missing = new List<string>();
        for (var s = 0; s < SlotCount; s++)
        {
            index[s] = _columns[s] is { } column ? header.FindIndex(h => h.Equals(column, StringComparison.OrdinalIgnoreCase)) : -1;
            var name = $"fields.{char.ToLowerInvariant(((Slot)s).ToString()[0])}{((Slot)s).ToString()[1..]}";
            if (_columns[s] is { } wanted && index[s] < 0)
            {
                missing.Add($"{name} names column '{wanted}'");
            }
            else if (_columns[s] is { } named && header.FindLastIndex(h => h.Equals(named, StringComparison.OrdinalIgnoreCase)) is var last && last != index[s])
            {
                missing.Add($"{name} names column '{named}', which the header has twice (columns {index[s] + 1} and {last + 1})");
            }
        }

        var keyIndexes = (_mapping.EventIdKeys ?? []).Select(k => k == "$line" ? -2 : header.FindIndex(h => h.Equals(k, StringComparison.OrdinalIgnoreCase))).ToArray();
        foreach (var (key, at) in (_mapping.EventIdKeys ?? []).Zip(keyIndexes))
        {
            if (at == -1)
            {
                missing.Add($"eventIdKeys names column '{key}'");
            }
        }

        if (missing.Count > 0)
        {
            throw new InvalidDataException(header.Count == 0
                ? $"the file is empty: no header with the columns the mapping names: {string.Join("; ", missing)}"
                : $"the header ({string.Join(",", header)}) lacks columns the mapping names, or names them twice: {string.Join("; ", missing)}");
        }

        var values = new string?[SlotCount];
        var columns = header.Count;
        using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> digest = stackalloc byte[32];
        ReadOnlySpan<char> fieldSeparator = "\u001f";
        while (reader.MoveNext())
        {
            var row = reader.Current;
            _plan.RowsRead++;
            if ((_plan.RowsRead & 0x3FFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (row.Span.Trim().IsEmpty)
            {
                _plan.RowsRead--;
                _plan.BlankLines++;
                continue;
            }

            var line = row.LineNumberFrom;
            if (row.LineNumberToExcl - 1 > line && row.ColCount != columns)
            {
                RejectRunawayQuote(row, header, line, row.LineNumberToExcl - 1);
                continue;
            }

            if (row.ColCount > columns && ExtraFieldsAt(row, columns) is { } extra)
            {
                // pandas refuses such a row ("Expected 8 fields in line 3, saw 9"); reading the first columns would take a
                // value from the wrong column (a description's unquoted comma shifts every field after it) or drop one.
                Reject(line, "", $"has {row.ColCount} fields, not the header's {columns} (field {extra + 1} is not empty: an unquoted comma in a value?)", "bad_csv");
                continue;
            }

            var width = Math.Min(row.ColCount, columns);
            // Exact duplicates are found by a hash of every trimmed field's value, without building the fields nobody maps
            // unless they are quoted: "12"" FRAME" and 12" FRAME, or "15457" and 15457, are the same value written by two
            // tools (probe65: a file appended from two writers counted 33 order lines twice).
            for (var c = 0; c < columns; c++)
            {
                var raw = c < width ? row[c].Span : [];
                hasher.AppendData(MemoryMarshal.AsBytes(raw.Contains('"') ? StrayQuoteReader.Field(raw).AsSpan().Trim() : raw.Trim()));
                hasher.AppendData(MemoryMarshal.AsBytes(fieldSeparator));
            }

            hasher.GetHashAndReset(digest);
            for (var s = 0; s < SlotCount; s++)
            {
                values[s] = index[s] >= 0 && index[s] < width ? CsvFormulaGuard.Read(row[index[s]].Span.Trim()).Trim() : index[s] >= 0 ? "" : null;
            }

            string[]? keys = null;
            if (keyIndexes.Length > 0)
            {
                keys = new string[keyIndexes.Length];
                for (var k = 0; k < keys.Length; k++)
                {
                    var at = keyIndexes[k];
                    keys[k] = at == -2 ? line.ToString(CultureInfo.InvariantCulture) : at < width ? CsvFormulaGuard.Read(row[at].Span.Trim()).Trim() : "";
                }
            }

            Accept(line, values, new UInt128(BitConverter.ToUInt64(digest), BitConverter.ToUInt64(digest[8..])), keys);
        }
    }

    /// <summary>The first field past the header's columns that holds something; null when they are all empty (trailing commas).</summary>
    private static int? ExtraFieldsAt(SepReader.Row row, int columns)
    {
        for (var c = columns; c < row.ColCount; c++)
        {
            if (StrayQuoteReader.Field(row[c].Span).Trim().Length > 0)
            {
                return c;
            }
        }

        return null;
    }

    /// <summary>
    /// A quote that opens a field and is not closed on its line (a description cut short) runs on into the next lines,
    /// which then read as one row of the wrong width; pandas refuses such a file ("Expected 8 fields in line 3, saw 9").
    /// Every line it took is rejected with the line the quote opened on, so none of them goes missing without a word.
    /// </summary>
    private void RejectRunawayQuote(SepReader.Row row, List<string> header, int first, int last)
    {
        var opened = -1;
        for (var c = 0; c < row.ColCount && opened < 0; c++)
        {
            if (row[c].Span.IndexOfAny('\r', '\n') >= 0)
            {
                opened = c;
            }
        }

        // An odd number of quotes: one is still open where the row ends, which only the end of the file does. It took
        // the file's last line break too, if it has one, after which the reader counts a line the file does not have.
        var span = row.Span;
        var toEnd = span.Count('"') % 2 == 1;
        if (toEnd && last > first && span[^1] is '\n' or '\r')
        {
            last--;
        }

        var field = opened >= 0 && opened < header.Count ? header[opened] : "";
        var reason = $"a quote opened on line {first}{(field.Length > 0 ? $" in {field}" : "")} is not closed before {(toEnd ? "the end of the file" : $"line {last}")}: " +
            $"lines {first}-{last} read as one row of {row.ColCount} fields, not {header.Count} (check the file's quoting)";
        for (var l = first; l <= last; l++)
        {
            Reject(l, field, reason, "bad_csv");
        }

        _plan.RowsRead += last - first;
    }

    private void ReadJsonLines(string path, CancellationToken cancellationToken)
    {
        using var text = new StreamReader(path, _mapping.Decoder()!, detectEncodingFromByteOrderMarks: true, new FileStreamOptions { BufferSize = 1 << 16 });
        long line = 0;
        var values = new string?[SlotCount];
        while (text.ReadLine() is { } raw)
        {
            line++;
            if ((line & 0x3FFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var trimmed = raw.Trim();
            if (trimmed.Length == 0)
            {
                _plan.BlankLines++;
                continue;
            }

            _plan.RowsRead++;
            JsonElement root;
            try
            {
                using var document = JsonDocument.Parse(trimmed, RowOptions);
                root = document.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                Reject(line, "", $"not a JSON object: {ex.Message}", "bad_json");
                continue;
            }

            if (root.ValueKind != JsonValueKind.Object)
            {
                Reject(line, "", "not a JSON object", "bad_json");
                continue;
            }

            if (NotTextField(root) is { } nested)
            {
                Reject(line, nested.Name, $"is a JSON {nested.Kind}, not a string or a number", "bad_json");
                continue;
            }

            if (!TryReadFields(root, values, out var unreadable))
            {
                Reject(line, unreadable, "holds a lone UTF-16 surrogate escape (half of a character such as an emoji), which is no text", "bad_encoding");
                continue;
            }

            var keys = _mapping.EventIdKeys?.Select(k => k == "$line" ? line.ToString(CultureInfo.InvariantCulture) : KeyText(root, k)).ToArray();
            Accept(line, values, Hash128(trimmed), keys);
        }
    }

    // A key twice in a row is refused, as the REST gateway refuses it: which of the two values was meant is anyone's guess.
    private static readonly JsonDocumentOptions RowOptions = new() { AllowDuplicateProperties = false };

    /// <summary>
    /// A mapped field whose value no field takes: an object, an array, or a boolean (probe71: <c>"user": false</c> of guest
    /// checkouts pooled every such row into one customer called "false").
    /// </summary>
    private (string Name, string Kind)? NotTextField(JsonElement row)
    {
        foreach (var name in _columns)
        {
            if (name is not null && row.TryGetProperty(name, out var value))
            {
                switch (value.ValueKind)
                {
                    case JsonValueKind.Object or JsonValueKind.Array:
                        return (name, value.ValueKind.ToString().ToLowerInvariant());
                    case JsonValueKind.True or JsonValueKind.False:
                        return (name, "boolean");
                }
            }
        }

        return null;
    }

    /// <summary>
    /// The mapped fields' values, each read once. A string .NET cannot read as text is a lone UTF-16 surrogate escape
    /// (<c>"\ud800"</c>, an emoji cut in half by a JavaScript or Java exporter), which the JSON parser accepts and reading
    /// the value throws on: its field is named instead.
    /// </summary>
    private bool TryReadFields(JsonElement row, string?[] values, out string unreadable)
    {
        unreadable = "";
        for (var s = 0; s < SlotCount; s++)
        {
            if (_columns[s] is not { } name)
            {
                values[s] = null;
                continue;
            }

            try
            {
                values[s] = Text(row, name, IsId((Slot)s));
            }
            catch (InvalidOperationException)
            {
                unreadable = name;
                return false;
            }
        }

        return true;
    }

    // Quantities and prices keep a JSON number's text, so that a refusal quotes what the file holds.
    private static bool IsId(Slot slot) => slot is Slot.User or Slot.Anonymous or Slot.Order or Slot.OriginalOrder or Slot.Product or Slot.Category;

    /// <summary>
    /// An id sent as a JSON number: a whole number however written (1001.0, 1.001e3) as its digits, so that it is one id
    /// whichever way the exporter wrote it; any other number as written.
    /// </summary>
    private static string IdText(string raw) =>
        raw.AsSpan().IndexOfAny(".eE") >= 0 && decimal.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number == decimal.Truncate(number)
            ? decimal.Truncate(number).ToString(CultureInfo.InvariantCulture)
            : raw;

    private static string? Text(JsonElement row, string name, bool id = false)
    {
        if (!row.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!.Trim(),
            JsonValueKind.Number => id ? IdText(value.GetRawText()) : value.GetRawText(),
            _ => null,
        };
    }

    /// <summary>An eventIdKeys value: any scalar tells events apart, a flag or a string no mapped field could take included.</summary>
    private static string KeyText(JsonElement row, string name)
    {
        if (!row.TryGetProperty(name, out var value))
        {
            return "";
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.True or JsonValueKind.False:
                return value.GetRawText();
            case JsonValueKind.String:
                try
                {
                    return value.GetString()!.Trim();
                }
                catch (InvalidOperationException)
                {
                    return value.GetRawText(); // a lone surrogate escape, as written
                }

            default:
                return Text(row, name, id: true) ?? "";
        }
    }

    private void Reject(long line, string field, string reason, string code) => _plan.Rejects.Add(new ImportReject(line, field, reason, code));

    private string ColumnOf(Slot slot) => _columns[(int)slot] ?? slot.ToString().ToLowerInvariant();

    /// <summary>Cleans one row and adds it to its event, or rejects it.</summary>
    private void Accept(long line, string?[] v, UInt128 fingerprint, string[]? keys)
    {
        if (_seen.TryGetValue(fingerprint, out var first))
        {
            _plan.Duplicates++;
            Reject(line, "", $"exact duplicate of line {first}", "duplicate");
            return;
        }

        _seen[fingerprint] = line;

        // Bytes that are not UTF-8 read as U+FFFD: in a mapped field that would make "Müller" and "Mäller" one customer.
        // Only mapped fields are checked, so a Latin-1 export whose descriptions have accents still imports.
        for (var s = 0; s < SlotCount; s++)
        {
            if (v[s] is { } value && (value.Contains('\uFFFD', StringComparison.Ordinal) || (_undefinedBytesRead is { } holes && value.AsSpan().IndexOfAny(holes) >= 0)))
            {
                Reject(line, ColumnOf((Slot)s), $"holds bytes that are not {_mapping.TextEncoding}: set the file's encoding in the mapping (\"encoding\": \"windows-1252\" for Excel on western Windows)", "bad_encoding");
                return;
            }
        }

        var user = NoneIfMissing(Code(v[(int)Slot.User], upper: false));
        if (_mapping.IntegerUserIds)
        {
            user = WithoutZeroFraction(user);
        }

        var anonymous = NoneIfMissing(Code(v[(int)Slot.Anonymous], upper: false));
        if (user.Length == 0)
        {
            if (_mapping.MissingUser != "anonymous" || anonymous.Length == 0)
            {
                Reject(line, ColumnOf(_mapping.Fields.User is null ? Slot.Anonymous : Slot.User), "no customer id" + (_mapping.MissingUser == "anonymous" ? " and no anonymous id" : ""), "missing_user");
                return;
            }
        }

        string kind;
        if (_mapping.Fields.Type is null)
        {
            kind = _mapping.Type;
        }
        else
        {
            var raw = (v[(int)Slot.Type] ?? "").Trim();
            kind = _typeValues.TryGetValue(raw, out var mapped) ? mapped : raw.ToLowerInvariant();
            if (!ImportedKinds.Known.Contains(kind))
            {
                Reject(line, ColumnOf(Slot.Type), raw.Length == 0 ? "no event type" : $"'{raw}' is not an importable event type (map it in typeValues)", "bad_type");
                return;
            }
        }

        _timedRows++;
        if (!TryTime(v[(int)Slot.Time], out var time))
        {
            var swappedFormat = DayMonthSwappedFormat(v[(int)Slot.Time]);
            if (swappedFormat is not null)
            {
                _dayMonthSwapped = _dayMonthSwapped is { } seen ? seen with { Rows = seen.Rows + 1 } : (1, line, v[(int)Slot.Time]!.Trim(), swappedFormat);
            }

            Reject(line, ColumnOf(Slot.Time), $"'{v[(int)Slot.Time]}' matches none of the date formats ({string.Join(", ", _mapping.DateFormats)})" +
                (swappedFormat is null ? "" : $"; it reads with day and month swapped ({swappedFormat})"), "bad_time");
            return;
        }

        var product = Code(v[(int)Slot.Product], _mapping.UpperCaseCodes);
        if (product.Length == 0)
        {
            Reject(line, ColumnOf(Slot.Product), "no product code", "missing_product");
            return;
        }

        if (product.Length > MaxIdLength)
        {
            // Rejected alone here: in the grid it would refuse the whole order it is a line of (probe57).
            Reject(line, ColumnOf(Slot.Product), $"is {product.Length} characters long; the grid takes ids of up to {MaxIdLength}", "long_product");
            return;
        }

        var quantity = 1L;
        if (!string.IsNullOrEmpty(v[(int)Slot.Quantity]))
        {
            if (!TryQuantity(v[(int)Slot.Quantity]!, out var q) || Math.Abs(q) > 100_000)
            {
                Reject(line, ColumnOf(Slot.Quantity), $"'{v[(int)Slot.Quantity]}' is not a whole number of units (up to 100000)", "bad_quantity");
                return;
            }

            if (q == 0)
            {
                Reject(line, ColumnOf(Slot.Quantity), "is zero", "zero_quantity");
                return;
            }

            quantity = q;
        }

        decimal? price = null;
        if (!string.IsNullOrEmpty(v[(int)Slot.Price]))
        {
            if (!TryNumber(v[(int)Slot.Price], out var p, exponent: true))
            {
                Reject(line, ColumnOf(Slot.Price), $"'{v[(int)Slot.Price]}' is not a number in {_mapping.Locale}", "bad_price");
                return;
            }

            price = p;
        }

        var order = Code(v[(int)Slot.Order], _mapping.UpperCaseCodes);
        var originalOrder = Code(v[(int)Slot.OriginalOrder], _mapping.UpperCaseCodes);
        var cancellation = _mapping.RefundOrderPrefix is { Length: > 0 } prefix && order.StartsWith(prefix, StringComparison.OrdinalIgnoreCase);
        if (kind == "purchase" && (cancellation || (quantity < 0 && _mapping.NegativeQuantityIsRefund)))
        {
            kind = "refund";
        }

        if (kind == "refund" && !cancellation && order.Length > 0 && _columns[(int)Slot.OriginalOrder] is null)
        {
            // A return row (by its type, or a negative quantity) names the order it returns, not a refund id of its own
            // (the clickstream mapping of docs/import.md): each return time is a refund of its own, so a second, partial
            // return of the order, in this file or the next month's, is not taken for a repeat of the first (probe71).
            originalOrder = order;
            order = ReturnId(order, time);
        }

        if (quantity < 0)
        {
            if (kind != "refund")
            {
                Reject(line, ColumnOf(Slot.Quantity), $"{quantity} is negative outside a refund", "negative_quantity");
                return;
            }

            quantity = -quantity;
        }

        var money = kind is "purchase" or "refund";
        if (price is null && (money || kind == "add_to_cart"))
        {
            // The grid refuses these without a price; saying so here names the row, not a place in a request.
            if (_columns[(int)Slot.Price] is null)
            {
                Reject(line, "price", $"no price column is mapped (fields.price), and the grid needs a price on {kind} rows", "missing_price");
                _plan.Warn("purchase, refund and cart rows rejected: the mapping maps no price column, and the grid needs a price on them " +
                    "(a file without prices: docs/import.md, \"Exports without prices\")");
            }
            else
            {
                Reject(line, ColumnOf(Slot.Price), "no price", "missing_price");
            }

            return;
        }

        if (price < 0)
        {
            Reject(line, ColumnOf(Slot.Price), $"{price.Value.ToString(CultureInfo.InvariantCulture)} is negative (an adjustment, not a sale)", "negative_price");
            return;
        }

        if (price == 0 && (money || kind == "add_to_cart") && _mapping.ZeroPrice == "reject")
        {
            Reject(line, ColumnOf(Slot.Price), "is zero (zeroPrice: reject)", "zero_price");
            return;
        }

        var currency = Code(v[(int)Slot.Currency], upper: true) is { Length: > 0 } named ? named : _mapping.Currency.ToUpperInvariant();
        if (currency.Length != 3 || !currency.All(char.IsAsciiLetter))
        {
            Reject(line, ColumnOf(Slot.Currency), $"'{currency}' is not an ISO 4217 code", "bad_currency");
            return;
        }

        var category = (v[(int)Slot.Category] ?? "").Trim() is { Length: > 0 } c ? c : _mapping.DefaultCategory;
        if (category.Length > MaxIdLength)
        {
            Reject(line, ColumnOf(Slot.Category), $"is {category.Length} characters long; the grid takes categories of up to {MaxIdLength}", "long_category");
            return;
        }

        var country = Country(v[(int)Slot.Country]);

        if (money && _mapping.GroupOrders)
        {
            if (order.Length == 0)
            {
                Reject(line, ColumnOf(Slot.Order), "no order id (needed to group an order's lines)", "missing_order");
                return;
            }

            AddToOrder(line, kind, user, anonymous, order, originalOrder, currency, time, country,
                new PurchaseLine { ProductId = product, Category = category, Quantity = (int)quantity, UnitPrice = Price(price!.Value) });
            _plan.RowsImported++;
            return;
        }

        if (money && order.Length > 0)
        {
            // Without grouping a row is a whole order (or refund), and the grid counts an order id once per user: a second
            // row of it would be acknowledged and dropped as a repeat, its lines lost unseen (probe71).
            var orderKey = string.Join('\u001f', kind, user ?? "", anonymous ?? "", order);
            if (_ungroupedOrders.TryGetValue(orderKey, out var firstLine))
            {
                Reject(line, ColumnOf(Slot.Order), $"{(kind == "refund" ? "refund" : "order")} {order} is on line {firstLine} already: with groupOrders false each row is a whole " +
                    "order and the grid counts an order id once (set groupOrders to true to combine an order's lines)", "duplicate_order");
                return;
            }

            _ungroupedOrders[orderKey] = line;
        }

        string[] idKeys = keys ?? [string.Join('\u001f', v.Select(x => x ?? ""))];
        var id = EventId(idKeys);
        if (_ungroupedIds.TryGetValue(id, out var earlier))
        {
            if (keys is not null)
            {
                // The mapping's eventIdKeys say what one event is: this row is the same event as the earlier one.
                Reject(line, "", $"same event id as line {earlier.FirstLine}: the eventIdKeys columns hold the same values (add a column that tells them apart, or \"$line\")", "duplicate_event_id");
                return;
            }

            // Equal in every mapped field but not an exact duplicate (a column the mapping does not read differs: two page
            // views of one product in the same second): another event. Its id counts the rows before it, so a re-import of
            // the same file makes the same ids.
            _ungroupedIds[id] = (earlier.FirstLine, earlier.Rows + 1);
            id = EventId([.. idKeys, $"#{earlier.Rows + 1}"]);
        }
        else
        {
            _ungroupedIds[id] = (line, 1);
        }

        var e = NewEvent(id, kind, user, anonymous, time, country);
        switch (kind)
        {
            case "purchase":
                e.Purchase = new Purchase { OrderId = order.Length > 0 ? order : id, Currency = currency };
                e.Purchase.Lines.Add(new PurchaseLine { ProductId = product, Category = category, Quantity = (int)quantity, UnitPrice = Price(price!.Value) });
                break;
            case "refund":
                e.Refund = new Refund { RefundId = order.Length > 0 ? order : id, OrderId = originalOrder, Currency = currency };
                e.Refund.Lines.Add(new PurchaseLine { ProductId = product, Category = category, Quantity = (int)quantity, UnitPrice = Price(price!.Value) });
                break;
            default:
                e.Product = new ProductAction { ProductId = product, Category = category, Quantity = (int)quantity };
                if (price is { } unit)
                {
                    e.Product.UnitPrice = Price(unit);
                    e.Product.Currency = currency;
                }

                break;
        }

        _plan.Events.Add(new PlannedEvent(e, [line]));
        _plan.RowsImported++;
    }

    private void AddToOrder(long line, string kind, string user, string anonymous, string order, string originalOrder, string currency,
        DateTimeOffset time, string? country, PurchaseLine purchaseLine)
    {
        var key = (kind, user, anonymous, order, currency);
        if (!_orders.TryGetValue(key, out var planned))
        {
            var e = NewEvent(EventId([kind, user, anonymous, order, currency]), kind, user, anonymous, time, country);
            if (kind == "refund")
            {
                e.Refund = new Refund { RefundId = order, OrderId = originalOrder, Currency = currency };
            }
            else
            {
                e.Purchase = new Purchase { OrderId = order, Currency = currency };
            }

            planned = new PlannedEvent(e, []) { OrderKey = key };
            _orders[key] = planned;
            _plan.Events.Add(planned);
        }

        var ev = planned.Event;
        // An order's time is its earliest line's: exports repeat the invoice time on every line, but not always to the second.
        if (time < planned.Earliest)
        {
            planned.Earliest = time;
            ev.OccurredAt = Time(time);
        }

        // Lines that disagree on the country: the first by name, not by row, so that the file's order does not matter.
        if (country is not null && (ev.Context is null || string.CompareOrdinal(country, ev.Context.Country) < 0))
        {
            ev.Context = new EventContext { Country = country };
        }

        LinesOf(ev).Add(purchaseLine);
        planned.Lines.Add(line);
    }

    /// <summary>
    /// An order's lines in one order whatever the file's row order (by product, then price, quantity and category), so that
    /// what the profile shows of the order (its recent action names the first line's product) does not depend on how the
    /// export was sorted (probe50: 870 of 1,200 profiles differed between a file and the same file re-sorted).
    /// </summary>
    private static void SortLines(PlannedEvent planned)
    {
        if ((planned.Event.Purchase?.Lines ?? planned.Event.Refund?.Lines) is not { Count: > 1 } lines)
        {
            return;
        }

        // The file lines move with their order lines, so that a refusal naming purchase.lines[i] still finds its row.
        var sorted = lines.Select((line, i) => (Line: line, FileLine: planned.Lines.Count == lines.Count ? planned.Lines[i] : -1))
            .OrderBy(l => l.Line.ProductId, StringComparer.Ordinal).ThenBy(l => l.Line.UnitPrice, StringComparer.Ordinal)
            .ThenBy(l => l.Line.Quantity).ThenBy(l => l.Line.Category, StringComparer.Ordinal).ThenBy(l => l.FileLine).ToList();
        lines.Clear();
        lines.AddRange(sorted.Select(l => l.Line));
        if (planned.Lines.Count == lines.Count)
        {
            planned.Lines.Clear();
            planned.Lines.AddRange(sorted.Select(l => l.FileLine));
        }
    }

    /// <summary>
    /// Leaves the first <see cref="MaxLinesPerOrder"/> lines of a sorted order in it and returns the rest in parts of that
    /// many lines at the order's time. A purchase's parts keep its order id and are numbered (part 1 is the event itself),
    /// so the grid counts one order; a refund's parts are refunds of their own ("refund~2", ...), which count nothing.
    /// A part's event id is derived from "order~N", as before parts were numbered, so a file imported then is recognised.
    /// </summary>
    private List<PlannedEvent> SplitOrder(PlannedEvent planned, (string Kind, string User, string Anonymous, string Order, string Currency) key)
    {
        _plan.Warn($"orders and cancellations over {MaxLinesPerOrder} lines (the grid's limit per event) sent in parts of {MaxLinesPerOrder}: an order still counts once", "orders");
        var lines = LinesOf(planned.Event);
        var allLines = lines.ToList();
        var fileLines = planned.Lines.ToList();
        var aligned = fileLines.Count == allLines.Count;
        var parts = new List<PlannedEvent>();
        for (var start = MaxLinesPerOrder; start < allLines.Count; start += MaxLinesPerOrder)
        {
            var number = start / MaxLinesPerOrder + 1;
            var partId = $"{key.Order}~{number}";
            var part = planned.Event.Clone();
            part.EventId = EventId([key.Kind, key.User, key.Anonymous, partId, key.Currency]);
            if (part.Refund is not null)
            {
                part.Refund.RefundId = partId;
            }
            else
            {
                part.Purchase.Part = (uint)number;
            }

            LinesOf(part).Clear();
            LinesOf(part).AddRange(allLines.Skip(start).Take(MaxLinesPerOrder));
            parts.Add(new PlannedEvent(part, aligned ? fileLines.Skip(start).Take(MaxLinesPerOrder).ToList() : []));
        }

        lines.Clear();
        lines.AddRange(allLines.Take(MaxLinesPerOrder));
        if (planned.Event.Purchase is { } first)
        {
            first.Part = 1;
        }

        if (aligned)
        {
            planned.Lines.Clear();
            planned.Lines.AddRange(fileLines.Take(MaxLinesPerOrder));
        }

        return parts;
    }

    /// <summary>
    /// An order with lines in several currencies (probe54: one sent EUR and GBP lines under one invoice number) was two
    /// whole orders under one order id, and the grid took the second for a repeat of the first: its revenue was lost
    /// without a word. Its events become parts of one order, numbered across the currencies in code order, so it counts
    /// once and every currency's revenue is kept; a refund's events in the second and later currencies become refunds of
    /// their own ("C123~GBP", "C123~GBP~2"), since a refund id sent twice gives back once. Event ids stay as they were.
    /// </summary>
    private void KeepEveryCurrency(string order, List<(string Currency, List<PlannedEvent> Events)> currencies)
    {
        _plan.Warn("orders and cancellations with lines in more than one currency sent in parts, a currency's lines apart: an order still counts once, with the revenue of every currency", "orders");
        currencies.Sort((a, b) => string.CompareOrdinal(a.Currency, b.Currency));
        var part = 1u;
        foreach (var (currency, events) in currencies)
        {
            foreach (var planned in events)
            {
                if (planned.Event.Purchase is { } purchase)
                {
                    purchase.Part = part++;
                }
                else if (!ReferenceEquals(currencies[0].Events, events) && planned.Event.Refund is { } refund)
                {
                    refund.RefundId = $"{order}~{currency}{refund.RefundId[order.Length..]}";
                }
            }
        }
    }

    /// <summary>
    /// An order of more parts than the grid takes (over 50,000 lines) is rejected whole, line by line, before anything is
    /// sent: the grid would refuse its later parts after the first had counted, importing part of an order.
    /// </summary>
    private void RejectOversizedOrder(List<PlannedEvent> parts)
    {
        var lines = parts.Sum(p => LinesOf(p.Event).Count);
        var reason = $"order {parts[0].Event.Purchase.OrderId} has {lines:N0} lines: {parts.Count} parts of {MaxLinesPerOrder}, more than the {MaxOrderParts} parts the grid takes for one order";
        var rejected = parts.ToHashSet<PlannedEvent>(ReferenceEqualityComparer.Instance);
        _plan.Events.RemoveAll(rejected.Contains);
        foreach (var planned in parts)
        {
            foreach (var line in planned.Lines)
            {
                Reject(line, ColumnOf(Slot.Order), reason, "order_too_large");
                _plan.RowsImported--;
            }
        }
    }

    private static Google.Protobuf.Collections.RepeatedField<PurchaseLine> LinesOf(Event e) => e.Purchase?.Lines ?? e.Refund.Lines;

    private Event NewEvent(string id, string kind, string user, string anonymous, DateTimeOffset time, string? country)
    {
        var e = new Event { EventId = id, Type = kind, UserId = user, AnonymousId = anonymous, Source = _mapping.Source, OccurredAt = Time(time) };
        if (country is not null)
        {
            e.Context = new EventContext { Country = country };
        }

        return e;
    }

    /// <summary>A return of <paramref name="order"/> at <paramref name="time"/>: "order@yyyyMMddTHHmmssZ", or a hash of the two when that is too long an id.</summary>
    private string ReturnId(string order, DateTimeOffset time)
    {
        var id = $"{order}@{time.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}";
        return id.Length <= MaxIdLength ? id : EventId(["return", order, id]);
    }

    private string EventId(IEnumerable<string> keys) =>
        $"{_mapping.EventIdPrefix}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\u001f', keys))).AsSpan(0, 12))}";

    private static UInt128 Hash128(string row)
    {
        Span<byte> hash = stackalloc byte[32];
        var bytes = System.Buffers.ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(row.Length));
        var length = Encoding.UTF8.GetBytes(row, bytes);
        SHA256.HashData(bytes.AsSpan(0, length), hash);
        System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
        return new UInt128(BitConverter.ToUInt64(hash), BitConverter.ToUInt64(hash[8..]));
    }

    /// <summary>An id the mapping says means "none" (<see cref="ImportMapping.MissingUserValues"/>) is none.</summary>
    private string NoneIfMissing(string id) => _missingUserValues.Contains(id) ? "" : id;

    /// <summary>"12555.0" and "12555.00" are "12555"; anything else (12555.5, 1e3, AB12.0) is kept as it is.</summary>
    internal static string WithoutZeroFraction(string id)
    {
        var dot = id.IndexOf('.');
        if (dot <= 0 || dot == id.Length - 1 || !id.AsSpan(dot + 1).TrimStart('0').IsEmpty)
        {
            return id;
        }

        // Only as pandas writes a number: no leading zeros ("007.0" is a code someone typed, not the float of 7).
        var whole = id.AsSpan(0, dot);
        var digits = whole[0] == '-' ? whole[1..] : whole;
        var asPandasWrites = !digits.IsEmpty && !digits.ContainsAnyExceptInRange('0', '9') && (digits[0] != '0' || digits.Length == 1);
        return asPandasWrites ? whole.ToString() : id;
    }

    /// <summary>Trimmed, inner runs of white space made one space, and upper case when asked ("85123a " is 85123A).</summary>
    private static string Code(string? value, bool upper)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return "";
        }

        var trimmed = value.Trim();
        if (trimmed.AsSpan().ContainsAny("  \t"))
        {
            trimmed = string.Join(' ', trimmed.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        }

        return upper ? trimmed.ToUpperInvariant() : trimmed;
    }

    /// <summary>
    /// A whole number of units: in JSON lines a JSON number, read as the REST gateway reads it (1e3 and 1000.0 are 1000;
    /// <see cref="JsonIntegers"/>); in a CSV a number in the file's locale with no fraction.
    /// </summary>
    private bool TryQuantity(string text, out long quantity)
    {
        if (_mapping.Format == "jsonl" && JsonIntegers.TryParse(text.Trim(), out quantity))
        {
            return true;
        }

        var ok = TryNumber(text, out var q) && q == decimal.Truncate(q) && Math.Abs(q) <= long.MaxValue;
        quantity = ok ? (long)q : 0;
        return ok;
    }

    /// <param name="exponent">Whether 1.275E1 is 12.75: a price, as pandas writes small floats (1e-05) when it re-saves a file.</param>
    private bool TryNumber(string? text, out decimal value, bool exponent = false) =>
        decimal.TryParse(text?.Trim().Replace('\u2212', '-'), exponent ? NumberStyles.Number | NumberStyles.AllowExponent : NumberStyles.Number, _numbers, out value);

    private static string Price(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private bool TryTime(string? text, out DateTimeOffset time)
    {
        time = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        foreach (var format in _mapping.DateFormats)
        {
            switch (format)
            {
                case "epoch" or "epoch-ms":
                    if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var epoch))
                    {
                        try
                        {
                            time = format == "epoch" ? DateTimeOffset.FromUnixTimeSeconds(epoch) : DateTimeOffset.FromUnixTimeMilliseconds(epoch);
                            return true;
                        }
                        catch (ArgumentOutOfRangeException)
                        {
                            // No match: the next format may read it (probe71: epoch-ms after epoch never got its turn).
                        }
                    }

                    break;
                case "iso":
                    if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var iso) && text.Contains('-'))
                    {
                        time = iso.Kind == DateTimeKind.Unspecified ? InZone(iso) : new DateTimeOffset(iso.ToUniversalTime(), TimeSpan.Zero);
                        return true;
                    }

                    break;
                default:
                    if (DateTimeOffset.TryParseExact(text, format, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var withOffset)
                        && (format.Contains('z') || format.Contains('K')))
                    {
                        time = withOffset;
                        return true;
                    }

                    if (DateTime.TryParseExact(text, format, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var local))
                    {
                        time = InZone(DateTime.SpecifyKind(local, DateTimeKind.Unspecified));
                        return true;
                    }

                    break;
            }
        }

        return false;
    }

    /// <summary>
    /// The first of the mapping's formats with numeric day and month that reads <paramref name="text"/> once its day and
    /// month are swapped (d/M/yyyy for M/d/yyyy); null when none does.
    /// </summary>
    private string? DayMonthSwappedFormat(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        foreach (var format in _mapping.DateFormats)
        {
            if (format is "iso" or "epoch" or "epoch-ms" || !format.Contains('M') || !format.Contains('d') || format.Contains("MMM", StringComparison.Ordinal)
                || format.Contains("ddd", StringComparison.Ordinal))
            {
                continue;
            }

            var swapped = new string([.. format.Select(c => c switch { 'M' => 'd', 'd' => 'M', _ => c })]);
            if (DateTime.TryParseExact(text.Trim(), swapped, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out _))
            {
                return swapped;
            }
        }

        return null;
    }

    /// <summary>
    /// A wall-clock time of the file's zone; a time skipped by a clock change is read as the hour after, and one that
    /// happens twice (the hour the clocks go back) as the first of the two, the daylight-saving one, as Python's zoneinfo
    /// (fold 0) and java.time read it (.NET's GetUtcOffset would take the second).
    /// </summary>
    private DateTimeOffset InZone(DateTime local)
    {
        if (_zone.IsInvalidTime(local))
        {
            local = local.AddHours(1);
        }

        var offset = _zone.IsAmbiguousTime(local) ? _zone.GetAmbiguousTimeOffsets(local).Max() : _zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset);
    }

    private string? Country(string? value)
    {
        var name = Code(value, upper: false);
        if (name.Length == 0)
        {
            return null;
        }

        if (_countries.TryGetValue(name, out var mapped))
        {
            return mapped.Length == 0 ? null : mapped.ToUpperInvariant();
        }

        if (name.Length == 2 && name.All(char.IsAsciiLetter))
        {
            return name.ToUpperInvariant();
        }

        if (CountryNames.Codes.TryGetValue(name, out var code))
        {
            return code;
        }

        _plan.Warn($"unknown country '{name}' left out (map it in countries)");
        return null;
    }
}
