namespace ProfileGrid.Experiments.Statistics;

/// <summary>The argument checks every test shares, so that invalid input fails with the parameter's name.</summary>
internal static class Guard
{
    public static void SignificanceLevel(double alpha, string parameterName)
    {
        if (!(alpha > 0 && alpha < 1))
        {
            throw new ArgumentOutOfRangeException(parameterName, alpha, "The significance level must lie strictly between 0 and 1 (0.05 gives 95% intervals).");
        }
    }

    public static void Finite(double value, string parameterName)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(parameterName, value, "The value must be a finite number.");
        }
    }

    public static void AllFinite(IReadOnlyList<double> values, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(values, parameterName);
        for (var i = 0; i < values.Count; i++)
        {
            if (!double.IsFinite(values[i]))
            {
                throw new ArgumentException($"{parameterName}[{i}] is {values[i]}; every value must be a finite number.", parameterName);
            }
        }
    }

    public static void NotNegative(long value, string parameterName)
    {
        if (value < 0)
        {
            throw new ArgumentOutOfRangeException(parameterName, value, "A count cannot be negative.");
        }
    }
}
