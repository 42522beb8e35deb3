using System.Globalization;

namespace ProfileGrid.Benchmarks;

/// <summary>
/// Walks "--name value" and "--name=value" options for both benchmark modes. Hand-written because the two parsers
/// need only this and positive integers; System.CommandLine would be more code than the options themselves.
/// </summary>
internal sealed class OptionReader(IReadOnlyList<string> args)
{
    private int _index = -1;
    private string? _inline;

    /// <summary>The current option's name, without any "=value".</summary>
    public string Name { get; private set; } = "";

    /// <summary>The current argument as given.</summary>
    public string Raw => args[_index];

    public bool Next()
    {
        if (++_index >= args.Count)
        {
            return false;
        }

        var arg = args[_index];
        var eq = arg.IndexOf('=');
        (Name, _inline) = arg.StartsWith("--", StringComparison.Ordinal) && eq > 0 ? (arg[..eq], arg[(eq + 1)..]) : (arg, null);
        return true;
    }

    /// <summary>The current option's value: after '=', or the next argument.</summary>
    public string Value()
    {
        if (_inline is not null)
        {
            return _inline;
        }

        if (_index + 1 >= args.Count)
        {
            throw new ArgumentException($"{Name} needs a value.");
        }

        return args[++_index];
    }

    public int PositiveInt() => PositiveInt(Value());

    public int NonNegativeInt()
    {
        var text = Value();
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
            ? n
            : throw new ArgumentException($"{Name} must be 0 or a positive integer, not '{text}'.");
    }

    /// <summary>The current option's value as a positive number (e.g. GiB).</summary>
    public double PositiveNumber()
    {
        var text = Value();
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x > 0
            ? x
            : throw new ArgumentException($"{Name} must be a positive number, not '{text}'.");
    }

    /// <summary>The current option's comma-separated value, each item trimmed and parsed by <paramref name="parse"/>.</summary>
    public List<T> List<T>(Func<string, T> parse) =>
        Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(parse).ToList();

    public int PositiveInt(string text)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < 1)
        {
            throw new ArgumentException($"{Name} must be a positive integer, not '{text}'.");
        }

        return n;
    }
}
