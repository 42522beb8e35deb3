namespace ProfileGrid.Experiments.Fairness;

/// <summary>
/// How the fairness audit judges groups and items. Bound from the configuration section <see cref="SectionName"/>;
/// call <see cref="Validate"/> at start-up.
/// </summary>
public sealed class FairnessOptions
{
    public const string SectionName = "ProfileGrid:Fairness";

    /// <summary>
    /// The fewest users a group needs before the four-fifths rule judges it: exposed users for CTR and conversion (and
    /// in each variant for an experiment's effect), known users for exposure per user. Smaller groups are reported as
    /// too small to judge and never flagged.
    /// </summary>
    public long MinimumUsers { get; set; } = 100;

    /// <summary>A group whose rate is below this fraction of the best group's is flagged (the four-fifths rule).</summary>
    public double FourFifthsThreshold { get; set; } = 0.8;

    /// <summary>Significance level of the tests and 1 - the confidence level of the intervals.</summary>
    public double Alpha { get; set; } = 0.05;

    /// <summary>
    /// The head of the catalog: the most-shown fraction of items (of the catalog when its size is known, else of the
    /// items shown). Every other item is the long tail.
    /// </summary>
    public double HeadFraction { get; set; } = 0.2;

    /// <summary>How many of the most-shown items the top-items share counts.</summary>
    public int TopItems { get; set; } = 10;

    /// <summary>The problems that make these options unusable, each a sentence naming the setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (MinimumUsers < 1)
        {
            problems.Add($"{SectionName}:{nameof(MinimumUsers)} must be at least 1 (is {MinimumUsers}).");
        }

        if (!(FourFifthsThreshold > 0 && FourFifthsThreshold <= 1))
        {
            problems.Add($"{SectionName}:{nameof(FourFifthsThreshold)} must lie in (0, 1] (is {FourFifthsThreshold}); 0.8 is the four-fifths rule.");
        }

        if (!(Alpha > 0 && Alpha < 1))
        {
            problems.Add($"{SectionName}:{nameof(Alpha)} must lie strictly between 0 and 1 (is {Alpha}); 0.05 gives 95% intervals.");
        }

        if (!(HeadFraction > 0 && HeadFraction < 1))
        {
            problems.Add($"{SectionName}:{nameof(HeadFraction)} must lie strictly between 0 and 1 (is {HeadFraction}).");
        }

        if (TopItems < 1)
        {
            problems.Add($"{SectionName}:{nameof(TopItems)} must be at least 1 (is {TopItems}).");
        }

        return problems;
    }
}
