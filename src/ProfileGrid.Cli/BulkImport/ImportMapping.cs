using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ProfileGrid.Cli.BulkImport;

/// <summary>
/// How a CSV or JSONL export maps onto the grid's events: the mapping file of <c>profilegrid import-events</c>
/// (schema and examples in docs/import.md; shipped examples in examples/import/).
/// </summary>
public sealed record ImportMapping
{
    /// <summary>csv or jsonl.</summary>
    public string Format { get; set; } = "csv";

    /// <summary>
    /// The file's character encoding: utf-8 (the default), windows-1252 (Excel's CSV on western Windows) or iso-8859-1.
    /// A byte order mark wins. Bytes the encoding has no character for reject their row when they are in a mapped field
    /// (bad_encoding), rather than make "Müller" and "Mäller" one customer.
    /// </summary>
    [JsonPropertyName("encoding")]
    public string TextEncoding { get; set; } = "utf-8";

    /// <summary>The decoder of <see cref="TextEncoding"/>; null for a name the importer does not know.</summary>
    internal Encoding? Decoder() => TextEncoding.ToLowerInvariant() switch
    {
        "utf-8" or "utf8" => new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
        "windows-1252" or "cp1252" => CodePagesEncodingProvider.Instance.GetEncoding(1252),
        "iso-8859-1" or "latin1" => Encoding.Latin1,
        _ => null,
    };

    /// <summary>CSV only: the separator (one character); default comma.</summary>
    public string Delimiter { get; set; } = ",";

    /// <summary>The file's locale for numbers (e.g. de-DE reads "1.234,50"); default en-US.</summary>
    public string Locale { get; set; } = "en-US";

    /// <summary>Overrides the locale's decimal separator.</summary>
    public string? DecimalSeparator { get; set; }

    /// <summary>Overrides the locale's group (thousands) separator.</summary>
    public string? GroupSeparator { get; set; }

    /// <summary>IANA time zone of times written without an offset (e.g. Europe/London); default UTC.</summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>Formats tried in order: .NET custom formats (invariant), or iso, epoch (seconds), epoch-ms.</summary>
    public IReadOnlyList<string> DateFormats { get; set; } = ["iso"];

    /// <summary>ISO 4217 currency of prices when no currency field is mapped (or it is empty).</summary>
    public string Currency { get; set; } = "EUR";

    /// <summary>web, app or crm: the events' source; crm (the default) records are not visits (no sessions).</summary>
    public string Source { get; set; } = "crm";

    /// <summary>Event fields to the file's columns (CSV header names or JSON property names).</summary>
    public FieldMap Fields { get; set; } = new();

    /// <summary>The event type of every row when <see cref="FieldMap.Type"/> is not mapped.</summary>
    public string Type { get; set; } = "purchase";

    /// <summary>The file's type values to event types (e.g. "view": "product_view"); a value not listed is used as is.</summary>
    public IReadOnlyDictionary<string, string> TypeValues { get; set; } = new Dictionary<string, string>();

    /// <summary>Category of products when no category field is mapped or it is empty (purchases need one).</summary>
    public string DefaultCategory { get; set; } = "uncategorized";

    /// <summary>
    /// Columns whose values make an ungrouped row's event id (a SHA-256 of them); "$line" is the row's line number.
    /// Default: every mapped field. Grouped orders and refunds take their id from the user and the order instead.
    /// </summary>
    public IReadOnlyList<string>? EventIdKeys { get; set; }

    /// <summary>Starts every event id, so that two files with the same keys do not collide; default "import".</summary>
    public string EventIdPrefix { get; set; } = "import";

    /// <summary>Lines of one order (same user and order id) become one purchase (or refund) event.</summary>
    public bool GroupOrders { get; set; } = true;

    /// <summary>An order id starting with this (Online Retail: "C") is a cancellation: its lines become a refund.</summary>
    public string? RefundOrderPrefix { get; set; }

    /// <summary>A purchase line with a negative quantity is a return: it becomes a refund line.</summary>
    public bool NegativeQuantityIsRefund { get; set; } = true;

    /// <summary>
    /// Product and order codes are upper-cased (Online Retail writes one stock code as "85123a" and "85123A"). Off by
    /// default: codes keep their case, so an imported order or product is the same one the live API reports.
    /// </summary>
    public bool UpperCaseCodes { get; set; }

    /// <summary>
    /// A user id written as a whole number with a zero fraction ("12555.0", as pandas writes an integer column that has
    /// gaps) is that number ("12555"), the id the live API and the original file use. Off by default: ids are kept as
    /// written; the Online Retail example mappings set it.
    /// </summary>
    public bool IntegerUserIds { get; set; }

    /// <summary>reject (default): rows without a user are rejected; anonymous: imported under the anonymous field when it has a value.</summary>
    public string MissingUser { get; set; } = "reject";

    /// <summary>
    /// User and anonymous id values that mean "none", as pandas reads them (its default missing values: a blank cell that
    /// pandas or a spreadsheet wrote back out reads "nan", "NULL" or "#N/A"). Such a row has no user, not a user called
    /// "nan" (probe57: all the rows of a quarter of an export went to one such customer). An empty list keeps them as ids.
    /// </summary>
    public IReadOnlyList<string> MissingUserValues { get; set; } = PandasMissingValues;

    /// <summary>pandas' default <c>na_values</c> (pandas.read_csv), matched exactly, case included.</summary>
    public static readonly IReadOnlyList<string> PandasMissingValues =
        ["#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"];

    /// <summary>accept (default): a zero price is a free line; reject: rows priced 0 are rejected.</summary>
    public string ZeroPrice { get; set; } = "accept";

    /// <summary>Country names of the file to ISO 3166-1 alpha-2 codes (an empty code: leave the country out without a warning).</summary>
    public IReadOnlyDictionary<string, string> Countries { get; set; } = new Dictionary<string, string>();

    /// <summary>
    /// A JSON error in the words of the mapping file: the serializer names its own .NET types ("could not be mapped to any
    /// .NET member contained in type 'ProfileGrid.Cli.BulkImport.ImportMapping'"), which tells a user nothing.
    /// </summary>
    private static string Describe(JsonException ex)
    {
        var line = ex.LineNumber is { } at ? $" (line {at + 1})" : string.Empty;
        var unknown = System.Text.RegularExpressions.Regex.Match(ex.Message, "^The JSON property '(?<name>.*)' could not be mapped to any .NET member");
        if (unknown.Success)
        {
            var parent = ex.Path is { Length: > 2 } where && where.LastIndexOf('.') > 1 ? where[2..where.LastIndexOf('.')] : null;
            var nested = parent is null ? string.Empty : $" in {parent}";
            // Inside "fields" the names are the event fields (probe71: the top-level keys were listed there).
            var (kind, names) = parent == "fields"
                ? ("an event field", MappingJson.Default.GetTypeInfo(typeof(FieldMap))!.Properties)
                : ("a mapping field", MappingJson.Default.ImportMapping.Properties);
            return $"'{unknown.Groups["name"].Value}'{nested}{line} is not {kind}; the {(parent == "fields" ? "event fields" : "fields")} are " +
                string.Join(", ", names.Select(p => p.Name).Order(StringComparer.Ordinal));
        }

        return $"{ex.Path ?? "$"}{line}: {ex.Message}";
    }

    /// <summary>Reads and checks a mapping file; throws <see cref="InvalidDataException"/> listing every problem.</summary>
    public static (ImportMapping Mapping, string Fingerprint) Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        ImportMapping? mapping;
        try
        {
            mapping = JsonSerializer.Deserialize(bytes, MappingJson.Default.ImportMapping);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not a mapping file: {Describe(ex)}");
        }

        if (mapping is null)
        {
            throw new InvalidDataException($"{path}: empty mapping file");
        }

        var problems = mapping.Validate();
        if (problems.Count > 0)
        {
            throw new InvalidDataException($"{path}: {string.Join("; ", problems)}");
        }

        // Of what the mapping says, not of its bytes: a comment or a space changes no event.
        return (mapping, Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(mapping, MappingJson.Default.ImportMapping)))[..16]);
    }

    public List<string> Validate()
    {
        var problems = new List<string>();
        if (Format is not ("csv" or "jsonl"))
        {
            problems.Add($"format: csv or jsonl ('{Format}')");
        }

        if (Decoder() is null)
        {
            problems.Add($"encoding: utf-8, windows-1252 or iso-8859-1 ('{TextEncoding}')");
        }

        if (Delimiter.Length != 1)
        {
            problems.Add($"delimiter: one character ('{Delimiter}')");
        }

        if (!NumberFormats.TryGet(Locale, DecimalSeparator, GroupSeparator, out _))
        {
            problems.Add($"locale: '{Locale}' is not one the importer knows; set decimalSeparator and groupSeparator");
        }

        try
        {
            TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            problems.Add($"timeZone: '{TimeZone}' is not an IANA time zone (e.g. Europe/London)");
        }

        if (DateFormats.Count == 0)
        {
            problems.Add("dateFormats: at least one (iso, epoch, epoch-ms or a format such as M/d/yyyy H:mm)");
        }

        if (Currency.Length != 3 || !Currency.All(char.IsAsciiLetter))
        {
            problems.Add($"currency: an ISO 4217 code ('{Currency}')");
        }

        if (Source is not ("web" or "app" or "crm"))
        {
            problems.Add($"source: web, app or crm ('{Source}')");
        }

        if (Fields.Time is null)
        {
            problems.Add("fields.time: required");
        }

        if (Fields.User is null && Fields.Anonymous is null)
        {
            problems.Add("fields.user or fields.anonymous: one is required");
        }

        if (MissingUser is not ("reject" or "anonymous"))
        {
            problems.Add($"missingUser: reject or anonymous ('{MissingUser}')");
        }

        if (MissingUser == "anonymous" && Fields.Anonymous is null)
        {
            problems.Add("missingUser: anonymous needs fields.anonymous");
        }

        if (ZeroPrice is not ("accept" or "reject"))
        {
            problems.Add($"zeroPrice: accept or reject ('{ZeroPrice}')");
        }

        foreach (var type in TypeValues.Values.Append(Type))
        {
            if (!ImportedKinds.Known.Contains(type))
            {
                problems.Add($"type '{type}': one of {string.Join(", ", ImportedKinds.Known)}");
            }
        }

        return problems;
    }

    internal TimeZoneInfo Zone => TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
}

/// <summary>The event fields a row may fill, each naming a column (null: not in the file).</summary>
public sealed record FieldMap
{
    public string? User { get; set; }
    public string? Anonymous { get; set; }
    public string? Type { get; set; }
    public string? Time { get; set; }
    public string? Order { get; set; }

    /// <summary>For refunds: the original order's id, when the file says it.</summary>
    public string? OriginalOrder { get; set; }
    public string? Product { get; set; }
    public string? Category { get; set; }
    public string? Quantity { get; set; }
    public string? Price { get; set; }
    public string? Currency { get; set; }
    public string? Country { get; set; }

    internal IEnumerable<(string Field, string Column)> Mapped()
    {
        (string, string?)[] all =
        [
            ("user", User), ("anonymous", Anonymous), ("type", Type), ("time", Time), ("order", Order), ("originalOrder", OriginalOrder),
            ("product", Product), ("category", Category), ("quantity", Quantity), ("price", Price), ("currency", Currency), ("country", Country),
        ];
        return all.Where(pair => pair.Item2 is not null).Select(pair => (pair.Item1, pair.Item2!));
    }
}

/// <summary>The event types an import can produce from a row.</summary>
internal static class ImportedKinds
{
    public static readonly string[] Known = ["product_view", "add_to_cart", "remove_from_cart", "purchase", "refund"];
}

/// <summary>Number formats by locale, without ICU (the tools run with invariant globalization).</summary>
internal static class NumberFormats
{
    private static readonly Dictionary<string, (string Decimal, string Group)> ByLanguage = new(StringComparer.OrdinalIgnoreCase)
    {
        ["en"] = (".", ","), ["ja"] = (".", ","), ["zh"] = (".", ","), ["ko"] = (".", ","), ["he"] = (".", ","), ["th"] = (".", ","),
        ["de"] = (",", "."), ["nl"] = (",", "."), ["it"] = (",", "."), ["es"] = (",", "."), ["pt"] = (",", "."), ["da"] = (",", "."),
        ["tr"] = (",", "."), ["id"] = (",", "."), ["el"] = (",", "."), ["ro"] = (",", "."),
        ["fr"] = (",", "\u202F"), ["ru"] = (",", "\u00A0"), ["pl"] = (",", "\u00A0"), ["sv"] = (",", "\u00A0"), ["fi"] = (",", "\u00A0"),
        ["nb"] = (",", "\u00A0"), ["cs"] = (",", "\u00A0"), ["uk"] = (",", "\u00A0"), ["hu"] = (",", "\u00A0"),
    };

    private static readonly Dictionary<string, (string Decimal, string Group)> ByLocale = new(StringComparer.OrdinalIgnoreCase)
    {
        ["de-CH"] = (".", "'"), ["fr-CH"] = (".", "'"), ["it-CH"] = (".", "'"), ["en-IN"] = (".", ","), ["es-MX"] = (".", ","), ["pt-PT"] = (",", "\u00A0"),
    };

    public static bool TryGet(string locale, string? decimalSeparator, string? groupSeparator, out NumberFormatInfo format)
    {
        var known = ByLocale.TryGetValue(locale, out var pair) || ByLanguage.TryGetValue(locale.Split('-', '_')[0], out pair);
        format = new NumberFormatInfo
        {
            NumberDecimalSeparator = decimalSeparator ?? (known ? pair.Decimal : "."),
            NumberGroupSeparator = groupSeparator ?? (known ? pair.Group : ","),
            NegativeSign = "-",
            PositiveSign = "+",
        };
        return known || (decimalSeparator is not null && groupSeparator is not null);
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, WriteIndented = true)]
[JsonSerializable(typeof(ImportMapping))]
[JsonSerializable(typeof(ImportState))]
[JsonSerializable(typeof(ImportSummaryJson))]
internal sealed partial class MappingJson : JsonSerializerContext;
