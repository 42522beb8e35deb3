using System.Globalization;
using ProfileGrid.Contracts;

namespace ProfileGrid.Cli.Tests;

/// <summary>JSON numbers read into integer fields as proto3 JSON reads them (shared by import-events and the REST gateway).</summary>
public class JsonIntegersTests
{
    [Theory]
    [InlineData("1000", 1000L)]
    [InlineData("1e3", 1000L)]
    [InlineData("1E+3", 1000L)]
    [InlineData("1000.0", 1000L)]
    [InlineData("1.5e1", 15L)]
    [InlineData("0.50e1", 5L)]
    [InlineData("12000e-3", 12L)]
    [InlineData("-2e0", -2L)]
    [InlineData("0", 0L)]
    [InlineData("-0.0e-7", 0L)]
    [InlineData("0e99999999999", 0L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("-9.223372036854775808e18", long.MinValue)]
    public void An_exact_integer_in_any_json_form_reads_as_that_integer(string text, long expected)
    {
        Assert.True(JsonIntegers.TryParse(text, out var value), text);
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("1e400")]
    [InlineData("1e-400")]
    [InlineData("1e-1")]
    [InlineData("1000.00000000000000000000000000001")]
    [InlineData("9223372036854775808")]
    [InlineData("1e19")]
    [InlineData("1e99999999999")]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("1.")]
    [InlineData("1e")]
    [InlineData("0x10")]
    public void A_number_that_is_no_integer_or_out_of_range_is_refused(string text) =>
        Assert.False(JsonIntegers.TryParse(text, out _), text);

    [Fact]
    public void Random_numbers_agree_with_decimal_arithmetic()
    {
        var random = new Random(7);
        for (var i = 0; i < 20_000; i++)
        {
            var significand = random.NextInt64(-1_000_000_000, 1_000_000_000);
            var exponent = random.Next(-12, 12);
            var point = random.Next(0, 6);
            // significand × 10^exponent written with `point` digits after the decimal point.
            var digits = Math.Abs(significand).ToString(CultureInfo.InvariantCulture).PadLeft(point + 1, '0');
            var text = (significand < 0 ? "-" : "") + (point == 0 ? digits : digits[..^point] + "." + digits[^point..]) + "e" + (exponent + point).ToString(CultureInfo.InvariantCulture);
            var exact = significand * (decimal)Math.Pow(10, exponent);
            var isInteger = exact == decimal.Truncate(exact) && exact is >= long.MinValue and <= long.MaxValue;

            Assert.True(isInteger == JsonIntegers.TryParse(text, out var value), text);
            if (isInteger)
            {
                Assert.Equal((long)exact, value);
            }
        }
    }
}
