using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator;

/// <summary>
/// One simulated user answering the recommendation lists shown to them the way a real client reports it: an
/// <c>impression</c> of the list, a <c>click</c> for each item they click, and for some clicks an <c>add_to_cart</c>
/// and a <c>purchase</c> of that item. What happens is drawn from <see cref="ResponseModel"/> with a generator seeded
/// by the stream's seed, the user and the recommendation id, so the same list always gets the same answer, whatever
/// else was shown before.
/// </summary>
public sealed class RespondingUser
{
    private const string WebBaseUrl = "https://shop.example.com";
    private const string AppBaseUrl = "app://shop";

    private readonly ResponseModel model;
    private readonly int seed;

    internal RespondingUser(SimulatedUser user, ResponseModel model, int seed)
    {
        User = user;
        this.model = model;
        this.seed = seed;
    }

    /// <summary>The user, with the planted facts the responses follow.</summary>
    public SimulatedUser User { get; }

    /// <summary>The known truth for a list of these items shown to this user: <see cref="ResponseModel.Expect"/>.</summary>
    public ListExpectation Expect(IReadOnlyList<string> itemIds) => model.Expect(User, itemIds);

    /// <summary>
    /// The events the user's client sends for <paramref name="list"/>, in time order: the impression (at
    /// <see cref="ServedList.ShownAt"/>, every item in order), then clicks in the order of their positions, each add to
    /// cart after its click and each purchase after its add to cart, within
    /// <see cref="ResponseModelOptions.MaxPurchaseDelay"/> of the click. Event ids are <c>{recommendation id}-impression</c>,
    /// <c>-click-{position}</c>, <c>-cart-{position}</c> and <c>-purchase-{position}</c>; order ids
    /// <c>o-{recommendation id}-{position}</c>; a purchase is one of the item at its catalogue price in the user's currency.
    /// </summary>
    public IReadOnlyList<Event> Respond(ServedList list)
    {
        Check(list);
        var options = model.Options;
        var shownAt = TruncateToMilliseconds(list.ShownAt.UtcDateTime);
        var context = new EventContext
        {
            Device = User.PreferredDevice,
            Country = User.Country,
            City = User.City,
            Locale = User.Locale,
            SessionId = $"s-{list.RecommendationId}",
        };

        var impression = NewEvent($"{list.RecommendationId}-impression", "impression", shownAt, context);
        impression.Feedback = new Feedback { RecommendationId = list.RecommendationId, ItemIds = { list.ItemIds } };
        if (list.Slot is { } slot)
        {
            impression.Feedback.Slot = slot;
        }

        var events = new List<(DateTime Time, int Order, Event Event)> { (shownAt, 0, impression) };
        var random = Seeds.For(seed, Seeds.Response, unchecked((int)Seeds.StableHash(list.DrawKey ?? list.RecommendationId, Seeds.StableHash(User.UserId))));
        var clickedAt = shownAt;
        for (var i = 0; i < list.ItemIds.Count; i++)
        {
            // Every position draws the same numbers whether or not it is clicked, so a change to one position's
            // probabilities leaves the other positions' outcomes as they were.
            var (clickDraw, cartDraw, purchaseDraw) = (random.NextDouble(), random.NextDouble(), random.NextDouble());
            var (clickDelay, cartDelay, purchaseDelay) = (random.NextDouble(), random.NextDouble(), random.NextDouble());

            var itemId = list.ItemIds[i];
            var position = i + 1;
            if (clickDraw >= model.ClickProbability(User, itemId, position))
            {
                continue;
            }

            clickedAt += Scaled(Delay(options.MeanClickDelay, clickDelay, TimeSpan.FromSeconds(1)), list.TimeScale);
            var click = NewEvent($"{list.RecommendationId}-click-{position}", "click", clickedAt, context);
            click.Feedback = new Feedback { RecommendationId = list.RecommendationId, ItemId = itemId, Position = position };
            if (list.Slot is { } clickSlot)
            {
                click.Feedback.Slot = clickSlot;
            }

            events.Add((clickedAt, position, click));

            var product = model.Product(itemId)!;
            var purchaseChance = model.PurchaseProbabilityAfterClick(User, itemId);
            var cartChance = model.CartProbabilityAfterClick(User, itemId);
            if (cartDraw >= cartChance)
            {
                continue;
            }

            // The cart comes within half the longest purchase delay, the purchase within the rest of it.
            var halfMax = options.MaxPurchaseDelay / 2;
            var cartAt = clickedAt + Scaled(Min(Delay(options.MeanCartDelay, cartDelay, TimeSpan.FromSeconds(1)), halfMax), list.TimeScale);
            events.Add((cartAt, position, AddToCart(list.RecommendationId, position, product, cartAt, context)));

            // Bought with probability purchase / cart given the cart, so purchase overall.
            if (purchaseDraw * cartChance >= purchaseChance)
            {
                continue;
            }

            var purchaseAt = Min(
                cartAt + Scaled(Delay(options.MeanPurchaseDelay, purchaseDelay, TimeSpan.FromSeconds(1)), list.TimeScale),
                clickedAt + Scaled(options.MaxPurchaseDelay, list.TimeScale));
            events.Add((purchaseAt, position, Purchase(list.RecommendationId, position, product, purchaseAt, context)));
        }

        return events.OrderBy(entry => entry.Time).ThenBy(entry => entry.Order).Select(entry => entry.Event).ToList();
    }

    private static void Check(ServedList list)
    {
        ArgumentNullException.ThrowIfNull(list);
        ArgumentException.ThrowIfNullOrWhiteSpace(list.RecommendationId, nameof(list));
        ArgumentNullException.ThrowIfNull(list.ItemIds, nameof(list));
        if (list.ItemIds.Count is < 1 or > 100)
        {
            throw new ArgumentException($"A served list holds 1 to 100 items, as an impression does ({list.ItemIds.Count}).", nameof(list));
        }

        if (list.ItemIds.Distinct(StringComparer.Ordinal).Count() != list.ItemIds.Count)
        {
            throw new ArgumentException("The items of a served list must be distinct, as an impression's are.", nameof(list));
        }
    }

    private Event AddToCart(string recommendationId, int position, Product product, DateTime time, EventContext context)
    {
        var @event = NewEvent($"{recommendationId}-cart-{position}", "add_to_cart", time, context);
        @event.Page = new PageView { Url = $"{BaseUrl}/p/{product.ProductId}", Title = product.Name };
        @event.Product = new ProductAction
        {
            ProductId = product.ProductId,
            Category = product.Category,
            Quantity = 1,
            UnitPrice = ProductCatalog.FormatPrice(ProductCatalog.PriceIn(product, User.Currency)),
            Currency = User.Currency,
        };
        return @event;
    }

    private Event Purchase(string recommendationId, int position, Product product, DateTime time, EventContext context)
    {
        var @event = NewEvent($"{recommendationId}-purchase-{position}", "purchase", time, context);
        @event.Purchase = new Purchase
        {
            OrderId = $"o-{recommendationId}-{position}",
            Currency = User.Currency,
            Lines =
            {
                new PurchaseLine
                {
                    ProductId = product.ProductId,
                    Category = product.Category,
                    Quantity = 1,
                    UnitPrice = ProductCatalog.FormatPrice(ProductCatalog.PriceIn(product, User.Currency)),
                },
            },
        };
        return @event;
    }

    private string BaseUrl => User.PreferredSource == "app" ? AppBaseUrl : WebBaseUrl;

    private Event NewEvent(string eventId, string type, DateTime time, EventContext context) => new()
    {
        EventId = eventId,
        Type = type,
        UserId = User.UserId,
        OccurredAt = SessionPlanner.FormatTime(time),
        Source = User.PreferredSource,
        Context = context.Clone(),
    };

    /// <summary>An exponential delay with the given mean from a uniform draw, at least <paramref name="minimum"/>, whole milliseconds.</summary>
    private static TimeSpan Delay(TimeSpan mean, double uniform, TimeSpan minimum)
    {
        var milliseconds = Math.Round(-mean.TotalMilliseconds * Math.Log(1 - uniform));
        return TimeSpan.FromMilliseconds(Math.Max(milliseconds, minimum.TotalMilliseconds));
    }

    /// <summary>A delay times <paramref name="scale"/>, in whole milliseconds and at least one, so that the order of the events stays.</summary>
    private static TimeSpan Scaled(TimeSpan delay, double scale) =>
        scale == 1 ? delay : TimeSpan.FromMilliseconds(Math.Max(1, Math.Round(delay.TotalMilliseconds * scale)));

    private static DateTime Min(DateTime a, DateTime b) => a <= b ? a : b;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a <= b ? a : b;

    private static DateTime TruncateToMilliseconds(DateTime time) =>
        new(time.Ticks - (time.Ticks % TimeSpan.TicksPerMillisecond), DateTimeKind.Utc);
}
