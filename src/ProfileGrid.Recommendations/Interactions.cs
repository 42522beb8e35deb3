namespace ProfileGrid.Recommendations;

/// <summary>
/// What one user did with one item over their whole history, as raw counts: training weighs them
/// (<see cref="InteractionWeights"/>), so that new weights or a new decay need no replay of events.
/// </summary>
/// <param name="ItemId">The item (product) id as events carry it.</param>
/// <param name="Rating">The user's latest explicit rating of the item (any scale the tenant uses), or null.</param>
/// <param name="LastAt">When the user last interacted with the item (any kind).</param>
public readonly record struct ItemInteraction(
    string ItemId,
    int Views,
    int CartAdds,
    int Purchases,
    double? Rating,
    DateTimeOffset LastAt);

/// <summary>A user's interactions as training sees them.</summary>
/// <param name="UserKey">The profile key (tenant/user) or any id unique within the data set.</param>
/// <param name="Segment">The user's segment label when training (null: none), for per-segment popularity.</param>
public sealed record UserInteractions(string UserKey, IReadOnlyList<ItemInteraction> Items, string? Segment = null);

/// <summary>
/// How raw interactions become one implicit-feedback weight per (user, item). Configurable per tenant.
/// </summary>
public sealed record InteractionWeights
{
    public double View { get; init; } = 1;
    public double AddToCart { get; init; } = 3;
    public double Purchase { get; init; } = 5;

    /// <summary>
    /// Weight of an explicit rating, multiplied by the rating divided by <see cref="RatingScale"/> (at most 1: a 99 on
    /// a 5-point scale is a top rating, not twenty of them).
    /// </summary>
    public double Rating { get; init; } = 5;

    /// <summary>The top of the rating scale (5 for MovieLens stars).</summary>
    public double RatingScale { get; init; } = 5;

    /// <summary>Interactions lose half their weight every this many days since <see cref="ItemInteraction.LastAt"/>; 0: no decay.</summary>
    public double HalfLifeDays { get; init; }

    /// <summary>
    /// A rating below this (in the <see cref="RatingScale"/>) makes the (user, item) pair a dislike: it weighs 0 however
    /// often the user viewed or bought the item, so it is neither trained on nor a reason ("because") for what the user
    /// is offered. 0 (the default here, as in Microsoft Recommenders' MovieLens tables): every rating is positive. The
    /// grid defaults to half the scale.
    /// </summary>
    public double MinPositiveRating { get; init; }

    /// <summary>
    /// The weight of one (user, item) pair at <paramref name="now"/>: the kinds' weights summed (each count damped by
    /// log1p, so a hundred views do not outweigh a purchase), then decayed by age. Zero means no interaction, or a
    /// dislike (a rating below <see cref="MinPositiveRating"/>).
    /// </summary>
    public double Weigh(in ItemInteraction interaction, DateTimeOffset now)
    {
        // Here rather than in each caller, so that training and serving (which weighs the user's history with the
        // model's weights) agree on what a dislike is.
        if (interaction.Rating < MinPositiveRating)
        {
            return 0;
        }

        var raw = View * Math.Log(1 + interaction.Views)
            + AddToCart * Math.Log(1 + interaction.CartAdds)
            + Purchase * Math.Log(1 + interaction.Purchases)
            + (interaction.Rating is { } rating && RatingScale > 0 ? Rating * Math.Min(rating / RatingScale, 1) : 0);
        if (raw <= 0 || HalfLifeDays <= 0)
        {
            return Math.Max(raw, 0);
        }

        var ageDays = Math.Max(0, (now - interaction.LastAt).TotalDays);
        return raw * Math.Pow(0.5, ageDays / HalfLifeDays);
    }

    /// <summary>Problems with these weights, each naming its field; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        Check(View, "view");
        Check(AddToCart, "add_to_cart");
        Check(Purchase, "purchase");
        Check(Rating, "rating");
        if (!(RatingScale > 0) || double.IsInfinity(RatingScale))
        {
            problems.Add($"weights.rating_scale must be a positive number ({RatingScale})");
        }

        if (!(HalfLifeDays >= 0) || double.IsInfinity(HalfLifeDays))
        {
            problems.Add($"weights.half_life_days must be 0 (no decay) or positive ({HalfLifeDays})");
        }

        if (!(MinPositiveRating >= 0) || !(MinPositiveRating <= RatingScale))
        {
            problems.Add($"weights.min_positive_rating must be between 0 (every rating positive) and rating_scale ({RatingScale}) ({MinPositiveRating})");
        }

        if (View + AddToCart + Purchase + Rating <= 0)
        {
            problems.Add("weights: at least one interaction kind needs a positive weight");
        }

        return problems;

        void Check(double value, string name)
        {
            if (!(value >= 0) || double.IsInfinity(value))
            {
                problems.Add($"weights.{name} must be 0 or positive ({value})");
            }
        }
    }
}
