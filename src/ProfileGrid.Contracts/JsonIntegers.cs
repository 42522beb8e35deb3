using System.Globalization;

namespace ProfileGrid.Contracts;

/// <summary>
/// How a JSON number reads into an integer field of the contract, as proto3 JSON reads it: exponent and fraction
/// forms are fine when the value is an exact integer (<c>1e3</c>, <c>1000.0</c>, <c>1.5e1</c>); <c>1.5</c> is not,
/// nor is anything out of range (<c>1e400</c>). The REST gateway and <c>profilegrid import-events</c> read JSON
/// integers through this, so the two agree.
/// </summary>
public static class JsonIntegers
{
    /// <summary>Reads <paramref name="number"/>, a JSON number's text, as an exact integer within the range of a long.</summary>
    public static bool TryParse(ReadOnlySpan<char> number, out long value)
    {
        value = 0;
        var at = 0;
        var negative = at < number.Length && number[at] == '-';
        if (negative)
        {
            at++;
        }

        var whole = number[at..Digits(number, at)];
        at += whole.Length;
        if (whole.IsEmpty)
        {
            return false;
        }

        var fraction = ReadOnlySpan<char>.Empty;
        if (at < number.Length && number[at] == '.')
        {
            at++;
            fraction = number[at..Digits(number, at)];
            at += fraction.Length;
            if (fraction.IsEmpty)
            {
                return false;
            }
        }

        var exponent = 0;
        if (at < number.Length && number[at] is 'e' or 'E')
        {
            at++;
            var sign = at < number.Length && number[at] is '+' or '-' ? number[at++] : '+';
            var digits = number[at..Digits(number, at)];
            at += digits.Length;
            // An exponent of 10 digits or more moves any digit other than 0 out of range either way.
            if (digits.IsEmpty || (digits.TrimStart('0').Length > 9 && (whole.ContainsAnyExcept('0') || fraction.ContainsAnyExcept('0'))))
            {
                return false;
            }

            exponent = digits.TrimStart('0').Length > 9 ? 0 : int.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture) * (sign == '-' ? -1 : 1);
        }

        if (at != number.Length)
        {
            return false;
        }

        // The value is (whole fraction) × 10^(exponent − fraction digits): an integer when the digits moved behind the
        // point are all zeros.
        var significand = string.Concat(whole, fraction).TrimStart('0');
        var shift = exponent - fraction.Length;
        if (significand.Length == 0)
        {
            return true; // zero, however written
        }

        if (shift < 0)
        {
            if (-shift > significand.Length || significand.AsSpan(significand.Length + shift).ContainsAnyExcept('0'))
            {
                return false;
            }

            significand = significand[..(significand.Length + shift)];
        }
        else if (significand.Length + shift > 19)
        {
            return false; // past long's 19 digits
        }
        else
        {
            significand += new string('0', shift);
        }

        return long.TryParse((negative ? "-" : "") + significand, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Where the run of ASCII digits from <paramref name="at"/> ends.</summary>
    private static int Digits(ReadOnlySpan<char> text, int at)
    {
        while (at < text.Length && char.IsAsciiDigit(text[at]))
        {
            at++;
        }

        return at;
    }
}
