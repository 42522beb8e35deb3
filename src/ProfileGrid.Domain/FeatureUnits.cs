using System.Globalization;

namespace ProfileGrid.Domain;

/// <summary>
/// Writes a segmentation feature's value with its unit for people ("14 orders", "2,310 USD", "3.5 days"). Units follow
/// from the feature's name (<see cref="ProfileFeatures.All"/>): "_days" and "days_since_" are days, frequency counts
/// orders, monetary and average order value are amounts in the reporting currency; so a feature added with such a name
/// reads right without a change here, and any other is written as a plain number.
/// </summary>
public static class FeatureUnits
{
    /// <summary><paramref name="value"/> of <paramref name="feature"/>, rounded for reading, with its unit.</summary>
    public static string Format(string feature, double value, string reportingCurrency)
    {
        ArgumentNullException.ThrowIfNull(feature);
        var number = Number(value);
        if (feature.EndsWith("_days", StringComparison.Ordinal) || feature.StartsWith("days_since", StringComparison.Ordinal))
        {
            return number == "1" ? "1 day" : number + " days";
        }

        if (feature.StartsWith("frequency", StringComparison.Ordinal))
        {
            return number == "1" ? "1 order" : number + " orders";
        }

        if (feature.StartsWith("monetary", StringComparison.Ordinal) || feature == "average_order_value")
        {
            return number + " " + reportingCurrency;
        }

        return feature switch
        {
            "sessions" => number == "1" ? "1 session" : number + " sessions",
            "category_diversity" => number == "1" ? "1 category" : number + " categories",
            "engagement_velocity" => number + " events/day",
            _ => number,
        };
    }

    /// <summary>Thousands separated from 100 up, one decimal from 10, two below: what a person would write.</summary>
    public static string Number(double value)
    {
        if (!double.IsFinite(value))
        {
            return value.ToString(CultureInfo.InvariantCulture);
        }

        var magnitude = Math.Abs(value);
        var text = value.ToString(magnitude >= 100 ? "#,##0" : magnitude >= 10 ? "0.#" : "0.##", CultureInfo.InvariantCulture);
        return text == "-0" ? "0" : text;
    }
}
