using System.Globalization;
using System.Text;
using System.Text.Json;
using nietras.SeparatedValues;
using Parquet;
using Parquet.Schema;
using ProfileGrid.Recommendations.Import;

namespace ProfileGrid.Cli.Export;

/// <summary>The file formats of <c>profilegrid export</c>.</summary>
internal enum ExportFormat
{
    Jsonl,
    Csv,
    Parquet,
}

/// <summary>
/// Writes rows to a file in one of the export formats. CSV and Parquet get the flat columns; JSONL gets
/// <paramref name="jsonLine"/> when given (the whole profile), else the flat columns as one JSON object per line.
/// An export without rows is still a valid file that names its columns (a CSV header, a Parquet schema).
/// </summary>
internal abstract class TableWriter<TRow> : IAsyncDisposable
{
    public static async Task<TableWriter<TRow>> CreateAsync(ExportFormat format, string path, IReadOnlyList<ExportColumn<TRow>> columns, Func<TRow, string>? jsonLine = null) =>
        format switch
        {
            ExportFormat.Csv => new CsvTableWriter<TRow>(path, columns),
            ExportFormat.Jsonl => new JsonlTableWriter<TRow>(path, columns, jsonLine),
            ExportFormat.Parquet => await ParquetTableWriter<TRow>.CreateAsync(path, columns),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };

    public abstract ValueTask WriteAsync(TRow row);

    public abstract ValueTask DisposeAsync();

    /// <summary>A value as CSV text: invariant culture, ISO dates as sent, true/false; null is empty.</summary>
    protected static string Text(object? value) => value switch
    {
        null => string.Empty,
        string s => s,
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}

/// <summary>
/// RFC 4180 CSV through Sep: a header, comma-separated, fields with commas, quotes or line breaks quoted. A text cell
/// a spreadsheet would run as a formula (<c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, tab, carriage return first) is
/// written <c>"'=..."</c> (<see cref="CsvFormulaGuard"/>); numbers are not touched.
/// </summary>
internal sealed class CsvTableWriter<TRow> : TableWriter<TRow>
{
    private readonly IReadOnlyList<ExportColumn<TRow>> _columns;
    private readonly SepWriter _writer;
    private readonly string _path;
    private long _rows;

    public CsvTableWriter(string path, IReadOnlyList<ExportColumn<TRow>> columns)
    {
        _columns = columns;
        _path = path;
        // Quoting is ours (Cell): Sep quotes only what needs it, and a guarded cell is quoted as OWASP advises.
        _writer = Sep.New(',').Writer(o => o with { Escape = false, CultureInfo = CultureInfo.InvariantCulture }).ToFile(path);
        foreach (var column in columns)
        {
            _writer.Header.Add(column.Name);
        }
    }

    public override ValueTask WriteAsync(TRow row)
    {
        using var line = _writer.NewRow();
        foreach (var column in _columns)
        {
            line[column.Name].Set(Cell(Text(column.Value(row)), column.Type == ColumnType.Text));
        }

        _rows++;
        return ValueTask.CompletedTask;
    }

    private static string Cell(string text, bool isText)
    {
        var guarded = isText && CsvFormulaGuard.Needs(text);
        if (!guarded && text.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            return text;
        }

        return $"\"{(guarded ? "'" : "")}{text.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
    }

    public override ValueTask DisposeAsync()
    {
        _writer.Dispose();
        if (_rows == 0 && new FileInfo(_path).Length == 0)
        {
            // Sep writes the header with the first row; a file without rows still names its columns (plain names, no quoting needed).
            File.WriteAllText(_path, string.Join(',', _columns.Select(c => c.Name)) + "\n");
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>One JSON object per line (UTF-8, "\n"); an export without rows is an empty file.</summary>
internal sealed class JsonlTableWriter<TRow>(string path, IReadOnlyList<ExportColumn<TRow>> columns, Func<TRow, string>? jsonLine) : TableWriter<TRow>
{
    private readonly StreamWriter _writer = new(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { NewLine = "\n" };

    public override async ValueTask WriteAsync(TRow row)
    {
        await _writer.WriteLineAsync(jsonLine is null ? Flat(row) : jsonLine(row));
    }

    public override ValueTask DisposeAsync() => _writer.DisposeAsync();

    private string Flat(TRow row)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            foreach (var column in columns)
            {
                json.WritePropertyName(column.Name);
                switch (column.Value(row))
                {
                    case null: json.WriteNullValue(); break;
                    case string s: json.WriteStringValue(s); break;
                    case bool b: json.WriteBooleanValue(b); break;
                    case long l: json.WriteNumberValue(l); break;
                    case int i: json.WriteNumberValue(i); break;
                    case double d: json.WriteNumberValue(d); break;
                    case decimal m: json.WriteNumberValue(m); break;
                    case var other: json.WriteStringValue(Text(other)); break;
                }
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}

/// <summary>
/// Parquet through Parquet.Net: one optional column per export column (text UTF-8 strings, integers int64, reals
/// double, money decimal(38,18), flags boolean), written in row groups of <see cref="RowGroupSize"/> rows.
/// </summary>
internal sealed class ParquetTableWriter<TRow> : TableWriter<TRow>
{
    public const int RowGroupSize = 10_000;

    private readonly IReadOnlyList<ExportColumn<TRow>> _columns;
    private readonly DataField[] _fields;
    private readonly FileStream _file;
    private readonly ParquetWriter _writer;
    private readonly List<object?[]> _pending = [];

    private ParquetTableWriter(IReadOnlyList<ExportColumn<TRow>> columns, DataField[] fields, FileStream file, ParquetWriter writer)
    {
        _columns = columns;
        _fields = fields;
        _file = file;
        _writer = writer;
    }

    public static async Task<ParquetTableWriter<TRow>> CreateAsync(string path, IReadOnlyList<ExportColumn<TRow>> columns)
    {
        var fields = columns.Select(Field).ToArray();
        var file = File.Create(path);
        var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), file);
        return new ParquetTableWriter<TRow>(columns, fields, file, writer);
    }

    public override async ValueTask WriteAsync(TRow row)
    {
        _pending.Add(_columns.Select(c => c.Value(row)).ToArray());
        if (_pending.Count >= RowGroupSize)
        {
            await FlushAsync();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        // An export without rows writes one empty row group, so that readers find the columns with their types.
        if (_pending.Count > 0 || !_wroteRowGroup)
        {
            await FlushAsync();
        }

        await _writer.DisposeAsync();
        await _file.DisposeAsync();
    }

    private bool _wroteRowGroup;

    private async Task FlushAsync()
    {
        using (var group = _writer.CreateRowGroup())
        {
            for (var c = 0; c < _fields.Length; c++)
            {
                var field = _fields[c];
                var values = _pending.Select(row => row[c]);
                switch (_columns[c].Type)
                {
                    case ColumnType.Text:
                        await group.WriteAsync(field, values.Select(v => (string?)v).ToArray()!);
                        break;
                    case ColumnType.Integer:
                        await group.WriteAsync<long>(field, values.Select(v => v is null ? (long?)null : Convert.ToInt64(v, CultureInfo.InvariantCulture)).ToArray());
                        break;
                    case ColumnType.Real:
                        await group.WriteAsync<double>(field, values.Select(v => (double?)v).ToArray());
                        break;
                    case ColumnType.Decimal:
                        await group.WriteAsync<decimal>(field, values.Select(v => (decimal?)v).ToArray());
                        break;
                    case ColumnType.Boolean:
                        await group.WriteAsync<bool>(field, values.Select(v => (bool?)v).ToArray());
                        break;
                }
            }

            group.CompleteValidate();
        }

        _wroteRowGroup = true;
        _pending.Clear();
    }

    private static DataField Field(ExportColumn<TRow> column) => column.Type switch
    {
        ColumnType.Text => new DataField<string>(column.Name, true),
        ColumnType.Integer => new DataField<long?>(column.Name),
        ColumnType.Real => new DataField<double?>(column.Name),
        ColumnType.Decimal => new DecimalDataField(column.Name, precision: 38, scale: 18, forceByteArrayEncoding: false, isNullable: true),
        ColumnType.Boolean => new DataField<bool?>(column.Name),
        _ => throw new ArgumentOutOfRangeException(nameof(column)),
    };
}
