using System.Globalization;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator.Tests;

public class RespondingUserTests(ITestOutputHelper output)
{
    /// <summary>Observed counts must lie within this many standard errors of the model's expectation (about 1 in 15,000 by chance).</summary>
    private const double Tolerance = 4;

    private const int ManyLists = 20_000;

    private static readonly SimulationOptions Options = new() { Seed = 7, Users = 2000, AsOf = SampleStream.AsOf };
    private static readonly Lazy<SyntheticStream> Stream = new(() => new SyntheticStream(Options));

    [Fact]
    public void The_same_seed_and_lists_give_the_same_events_whatever_was_shown_before()
    {
        var lists = MixedLists(300, seed: 1);
        var first = new ResponseSimulator(new SyntheticStream(Options));
        var second = new ResponseSimulator(new SyntheticStream(Options));
        var otherSeed = new ResponseSimulator(new SyntheticStream(Options with { Seed = 8 }));

        var events = lists.SelectMany(entry => first.Respond(entry.UserId, entry.List)).ToList();
        var inReverse = lists.AsEnumerable().Reverse().Select(entry => second.Respond(entry.UserId, entry.List)).Reverse().SelectMany(list => list).ToList();
        var withOtherSeed = lists.SelectMany(entry => otherSeed.Respond(entry.UserId, entry.List)).ToList();

        Assert.Contains(events, @event => @event.Type == "purchase");
        Assert.Equal(events, inReverse);
        Assert.NotEqual(events, withOtherSeed);
    }

    [Fact]
    public void Each_list_gets_one_impression_then_clicks_of_shown_items_then_carts_and_purchases_of_clicked_ones()
    {
        var simulator = new ResponseSimulator(Stream.Value);
        var lists = MixedLists(3000, seed: 2);
        var allEvents = new List<Event>();

        foreach (var (userId, list) in lists)
        {
            var user = simulator.User(userId).User;
            var events = simulator.Respond(userId, list);
            allEvents.AddRange(events);

            var impression = events[0];
            Assert.Equal(("impression", list.RecommendationId, list.Slot, list.ShownAt), (impression.Type, impression.Feedback.RecommendationId, impression.Feedback.Slot.Length > 0 ? impression.Feedback.Slot : null, At(impression)));
            Assert.Equal(list.ItemIds, impression.Feedback.ItemIds);
            Assert.Single(events, @event => @event.Type == "impression");
            Assert.Equal(events.Select(At).Order(), events.Select(At));
            Assert.All(events, @event =>
            {
                Assert.Equal((userId, user.PreferredSource, user.Country), (@event.UserId, @event.Source, @event.Context.Country));
                Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", @event.OccurredAt);
            });

            var clicks = events.Where(@event => @event.Type == "click").ToDictionary(@event => @event.Feedback.ItemId);
            Assert.All(clicks.Values, click =>
            {
                Assert.Equal(list.RecommendationId, click.Feedback.RecommendationId);
                Assert.Equal(list.ItemIds[click.Feedback.Position - 1], click.Feedback.ItemId);
                Assert.True(At(click) > list.ShownAt);
            });

            var carts = events.Where(@event => @event.Type == "add_to_cart").ToDictionary(@event => @event.Product.ProductId);
            Assert.All(carts.Values, cart =>
            {
                Assert.True(At(cart) > At(clicks[cart.Product.ProductId]), "an add to cart follows the click on its item");
                var product = simulator.Model.Product(cart.Product.ProductId)!;
                Assert.Equal((ProductCatalog.FormatPrice(ProductCatalog.PriceIn(product, user.Currency)), user.Currency, 1), (cart.Product.UnitPrice, cart.Product.Currency, cart.Product.Quantity));
            });

            Assert.All(events.Where(@event => @event.Type == "purchase"), purchase =>
            {
                var line = Assert.Single(purchase.Purchase.Lines);
                Assert.True(At(purchase) > At(carts[line.ProductId]), "a purchase follows the add to cart of its item");
                Assert.InRange(At(purchase) - At(clicks[line.ProductId]), TimeSpan.FromSeconds(1), simulator.Model.Options.MaxPurchaseDelay);
                Assert.Equal((carts[line.ProductId].Product.UnitPrice, user.Currency, 1), (line.UnitPrice, purchase.Purchase.Currency, line.Quantity));
            });
        }

        Assert.Equal(allEvents.Count, allEvents.Select(@event => @event.EventId).Distinct().Count());
        var orders = allEvents.Where(@event => @event.Type == "purchase").Select(@event => @event.Purchase.OrderId).ToList();
        Assert.NotEmpty(orders);
        Assert.Equal(orders.Count, orders.Distinct().Count());
    }

    [Fact]
    public void A_list_played_faster_gets_the_same_responses_in_the_same_order_within_its_span()
    {
        // A loop against a running grid shows its lists when they are served and must not send events from the future:
        // a day of responses is played within two minutes.
        var simulator = new ResponseSimulator(Stream.Value);
        var scale = TimeSpan.FromMinutes(2) / simulator.Model.Options.MaxPurchaseDelay;
        var purchases = 0;

        foreach (var (userId, list) in MixedLists(3000, seed: 3))
        {
            var asDrawn = simulator.Respond(userId, list);
            var faster = simulator.Respond(userId, list with { TimeScale = scale });

            Assert.Equal(asDrawn.Select(e => (e.EventId, e.Type)), faster.Select(e => (e.EventId, e.Type)));
            Assert.Equal(faster.Select(At).Order(), faster.Select(At));
            Assert.All(faster.Skip(1), e => Assert.InRange(At(e) - list.ShownAt, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(2.1)));
            purchases += faster.Count(e => e.Type == "purchase");
        }

        Assert.True(purchases > 0);
    }

    [Fact]
    public void The_first_position_is_clicked_more_than_the_fifth_for_the_same_items_shuffled()
    {
        var simulator = new ResponseSimulator(Stream.Value);
        var random = new Random(3);
        var itemsByUser = Stream.Value.Users.ToDictionary(user => user.UserId, user => Sample(user.PreferredItems.Order(StringComparer.Ordinal).ToList(), 10, random));
        var observed = new double[10];
        var expected = new double[10];
        var variance = new double[10];

        for (var n = 0; n < ManyLists; n++)
        {
            var user = Stream.Value.Users[n % Stream.Value.Users.Count];
            var items = itemsByUser[user.UserId].ToArray();
            random.Shuffle(items);
            var list = new ServedList($"r-bias-{n}", "home", items, SampleStream.AsOf.AddHours(-n % 500));
            foreach (var click in simulator.Respond(user.UserId, list).Where(@event => @event.Type == "click"))
            {
                observed[click.Feedback.Position - 1]++;
            }

            foreach (var position in simulator.Expect(user.UserId, items).Positions)
            {
                expected[position.Position - 1] += position.Clicks;
                variance[position.Position - 1] += position.Clicks * (1 - position.Clicks);
            }
        }

        for (var i = 0; i < 10; i++)
        {
            Assert.InRange(observed[i], expected[i] - (Tolerance * Math.Sqrt(variance[i])), expected[i] + (Tolerance * Math.Sqrt(variance[i])));
        }

        // Same items on average at both positions, so the ratio of click rates is the ratio of examination, 1 / 0.387.
        Assert.True(observed[0] - observed[4] > Tolerance * Math.Sqrt(variance[0] + variance[4]), $"position 1: {observed[0]} clicks, position 5: {observed[4]}");
        Assert.InRange(observed[0] / observed[4], 2.2, 3.0);
        output.WriteLine($"clicks by position over {ManyLists} lists, observed (expected): "
            + string.Join(", ", observed.Zip(expected, (seen, truth) => $"{seen} ({truth:F0})")));
    }

    [Fact]
    public void Lists_of_the_users_taste_beat_bestsellers_outside_it_by_the_lift_the_model_states_beforehand()
    {
        var simulator = new ResponseSimulator(Stream.Value);
        var random = new Random(4);
        var arms = new[] { new Arm("taste"), new Arm("bestsellers") };

        for (var n = 0; n < ManyLists; n++)
        {
            var user = Stream.Value.Users[random.Next(Stream.Value.Users.Count)];
            var arm = arms[n % 2];
            var items = n % 2 == 0 ? TasteList(user, random) : BestsellerList(simulator, user, random);
            var truth = simulator.Expect(user.UserId, items);
            var events = simulator.Respond(user.UserId, new ServedList($"r-lift-{n}", "home", items, SampleStream.AsOf.AddMinutes(-n)));
            arm.Add(truth, events, items.Count);
        }

        var (taste, bestsellers) = (arms[0], arms[1]);
        output.WriteLine($"{taste}; {bestsellers}");
        output.WriteLine($"revenue observed (expected, sd): taste {taste.Revenue:F0} ({taste.ExpectedRevenue:F0}, {Math.Sqrt(taste.RevenueVariance):F0}), "
            + $"bestsellers {bestsellers.Revenue:F0} ({bestsellers.ExpectedRevenue:F0}, {Math.Sqrt(bestsellers.RevenueVariance):F0})");
        output.WriteLine($"expected lift: clicks {taste.ExpectedClicks / bestsellers.ExpectedClicks:F3}, purchases {taste.ExpectedPurchases / bestsellers.ExpectedPurchases:F3}; "
            + $"observed: clicks {taste.Clicks / bestsellers.Clicks:F3}, purchases {taste.Purchases / bestsellers.Purchases:F3}");
        output.WriteLine($"expected per list: clicks {taste.ExpectedClicks / taste.Lists:F4} vs {bestsellers.ExpectedClicks / bestsellers.Lists:F4}, "
            + $"purchases {taste.ExpectedPurchases / taste.Lists:F4} vs {bestsellers.ExpectedPurchases / bestsellers.Lists:F4}");
        Assert.All(arms, arm =>
        {
            Assert.InRange(arm.Clicks, arm.ExpectedClicks - (Tolerance * Math.Sqrt(arm.ClicksVariance)), arm.ExpectedClicks + (Tolerance * Math.Sqrt(arm.ClicksVariance)));
            Assert.InRange(arm.Purchases, arm.ExpectedPurchases - (Tolerance * Math.Sqrt(arm.PurchasesVariance)), arm.ExpectedPurchases + (Tolerance * Math.Sqrt(arm.PurchasesVariance)));
            // Revenue summed in each user's own currency: still a sum of independent outcomes with a known mean and variance.
            Assert.InRange(arm.Revenue, arm.ExpectedRevenue - (Tolerance * Math.Sqrt(arm.RevenueVariance)), arm.ExpectedRevenue + (Tolerance * Math.Sqrt(arm.RevenueVariance)));
        });

        // The truth, known before any list was shown: tastes get well over twice the clicks and purchases.
        Assert.True(taste.ExpectedClicks / bestsellers.ExpectedClicks > 2, $"expected click lift {taste.ExpectedClicks / bestsellers.ExpectedClicks:F2}");
        Assert.True(taste.ExpectedPurchases / bestsellers.ExpectedPurchases > 2.5, $"expected purchase lift {taste.ExpectedPurchases / bestsellers.ExpectedPurchases:F2}");
        Assert.True(taste.ClickThroughRate > bestsellers.ClickThroughRate);
        Assert.True(taste.PurchasesPerList > bestsellers.PurchasesPerList);
    }

    [Fact]
    public void Items_the_user_never_sees_are_never_clicked()
    {
        var simulator = new ResponseSimulator(Stream.Value, new ResponseModelOptions { ExaminedPositions = 3, PositionBiasExponent = 0 });
        var random = new Random(5);
        var clicksByPosition = new int[11];

        for (var n = 0; n < 5000; n++)
        {
            var user = Stream.Value.Users[n % Stream.Value.Users.Count];
            // Items outside the catalogue (ones the recommender knows and the shop does not) sit at positions 1 and 10.
            var items = TasteList(user, random).Take(8).Prepend($"x-unknown-{n}").Append("x-unknown").ToList();
            var list = new ServedList($"r-seen-{n}", null, items, SampleStream.AsOf.AddMinutes(-n));
            var events = simulator.Respond(user.UserId, list);

            Assert.All(events.Where(@event => @event.Type is "click" or "add_to_cart" or "purchase"), @event =>
            {
                var itemId = @event.Type == "click" ? @event.Feedback.ItemId : @event.Product?.ProductId ?? @event.Purchase.Lines[0].ProductId;
                Assert.Contains(itemId, items.Skip(1).Take(2));
            });
            foreach (var click in events.Where(@event => @event.Type == "click"))
            {
                clicksByPosition[click.Feedback.Position]++;
            }
        }

        Assert.Equal(0, clicksByPosition[1]);
        Assert.True(clicksByPosition[2] > 100 && clicksByPosition[3] > 100, "the positions the user sees get clicks");
        Assert.All(clicksByPosition.Skip(4), count => Assert.Equal(0, count));
    }

    [Fact]
    public void High_value_users_and_items_of_their_taste_convert_more_after_a_click()
    {
        var simulator = new ResponseSimulator(Stream.Value);
        var model = simulator.Model;
        var highValue = Stream.Value.Users.First(user => user.Type == UserType.HighValue);
        var casual = Stream.Value.Users.First(user => user.Type == UserType.Casual && user.TasteGroup == highValue.TasteGroup);
        var preferred = highValue.PreferredItems.Order(StringComparer.Ordinal).First();
        var other = Stream.Value.Catalog.Products.First(product => !highValue.PreferredItems.Contains(product.ProductId)).ProductId;

        Assert.True(model.PurchaseProbabilityAfterClick(highValue, preferred) > model.PurchaseProbabilityAfterClick(casual, preferred));
        Assert.True(model.PurchaseProbabilityAfterClick(highValue, preferred) > model.PurchaseProbabilityAfterClick(highValue, other));
        Assert.True(model.CartProbabilityAfterClick(highValue, preferred) >= model.PurchaseProbabilityAfterClick(highValue, preferred));
        Assert.Equal(0, model.Attractiveness(highValue, "not-in-the-shop"));
        Assert.All(Stream.Value.Catalog.Products, product => Assert.InRange(model.Attractiveness(highValue, product.ProductId), 0, model.Options.MaxAttractiveness));
    }

    [Fact]
    public void Invalid_options_are_refused_naming_every_problem()
    {
        var options = new ResponseModelOptions
        {
            PreferredAttractiveness = 1.5,
            CartAbandonment = 1,
            ExaminedPositions = 0,
            MaxPurchaseDelay = TimeSpan.FromDays(8),
            PurchaseAfterClick = new Dictionary<UserType, double> { [UserType.HighValue] = 0.3 },
        };

        var error = Assert.Throws<ArgumentException>(() => new ResponseSimulator(Stream.Value, options));

        Assert.All(
            ["PreferredAttractiveness", "CartAbandonment", "ExaminedPositions", "MaxPurchaseDelay", "PurchaseAfterClick has no value for Casual"],
            setting => Assert.Contains(setting, error.Message));
        Assert.Empty(new ResponseModelOptions().Problems());
    }

    [Fact]
    public void A_list_with_a_repeated_item_or_no_items_is_refused()
    {
        var simulator = new ResponseSimulator(Stream.Value);
        var userId = Stream.Value.Users[0].UserId;

        Assert.Throws<ArgumentException>(() => simulator.Respond(userId, new ServedList("r-1", null, ["p-books-001", "p-books-001"], SampleStream.AsOf)));
        Assert.Throws<ArgumentException>(() => simulator.Respond(userId, new ServedList("r-2", null, [], SampleStream.AsOf)));
        Assert.Throws<ArgumentException>(() => simulator.Respond("u-999999", new ServedList("r-3", null, ["p-books-001"], SampleStream.AsOf)));
    }

    /// <summary>Lists of ten items for users taken in turn: of their taste, bestsellers, or any products.</summary>
    private static IReadOnlyList<(string UserId, ServedList List)> MixedLists(int count, int seed)
    {
        var simulator = new ResponseSimulator(Stream.Value);
        var random = new Random(seed);
        var products = Stream.Value.Catalog.Products.Select(product => product.ProductId).ToList();
        return Enumerable.Range(0, count).Select(n =>
        {
            var user = Stream.Value.Users[random.Next(Stream.Value.Users.Count)];
            var items = (n % 3) switch
            {
                0 => TasteList(user, random),
                1 => BestsellerList(simulator, user, random),
                _ => Sample(products, 10, random),
            };
            return (user.UserId, new ServedList($"r-{seed}-{n}", n % 2 == 0 ? "home" : null, items, SampleStream.AsOf.AddMinutes(-7 * n)));
        }).ToList();
    }

    private static IReadOnlyList<string> TasteList(SimulatedUser user, Random random) =>
        Sample(user.PreferredItems.Order(StringComparer.Ordinal).ToList(), 10, random);

    private static IReadOnlyList<string> BestsellerList(ResponseSimulator simulator, SimulatedUser user, Random random) =>
        Sample(simulator.Model.Bestsellers.Where(id => !user.PreferredItems.Contains(id)).Order(StringComparer.Ordinal).ToList(), 10, random);

    private static IReadOnlyList<string> Sample(IReadOnlyList<string> items, int count, Random random)
    {
        var copy = items.ToArray();
        random.Shuffle(copy);
        return copy.Take(count).ToList();
    }

    private static DateTimeOffset At(Event @event) => DateTimeOffset.Parse(@event.OccurredAt, CultureInfo.InvariantCulture);

    private sealed class Arm(string name)
    {
        public string Name { get; } = name;
        public double ItemsShown { get; private set; }
        public int Lists { get; private set; }
        public double Clicks { get; private set; }
        public double Purchases { get; private set; }
        public double ExpectedClicks { get; private set; }
        public double ExpectedPurchases { get; private set; }
        public double ClicksVariance { get; private set; }
        public double PurchasesVariance { get; private set; }
        public double Revenue { get; private set; }
        public double ExpectedRevenue { get; private set; }
        public double RevenueVariance { get; private set; }

        public double ClickThroughRate => Clicks / ItemsShown;

        public double PurchasesPerList => Purchases / Lists;

        public void Add(ListExpectation truth, IReadOnlyList<Event> events, int itemsShown)
        {
            Lists++;
            ItemsShown += itemsShown;
            Clicks += events.Count(@event => @event.Type == "click");
            Purchases += events.Count(@event => @event.Type == "purchase");
            ExpectedClicks += truth.Clicks;
            ExpectedPurchases += truth.Purchases;
            ClicksVariance += truth.ClicksVariance;
            PurchasesVariance += truth.PurchasesVariance;
            Revenue += events.Where(@event => @event.Type == "purchase")
                .Sum(@event => double.Parse(@event.Purchase.Lines[0].UnitPrice, CultureInfo.InvariantCulture));
            ExpectedRevenue += truth.Revenue;
            RevenueVariance += truth.RevenueVariance;
        }

        public override string ToString() => $"{Name}: CTR {ClickThroughRate:P2}, purchases per list {PurchasesPerList:F4}";
    }
}
