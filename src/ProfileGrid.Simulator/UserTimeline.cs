using System.Globalization;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator;

/// <summary>Bounds that hold for every session, whatever the user type.</summary>
internal static class SessionPlanner
{
    public const int MaxEventsPerSession = 30;
    public const double MinSecondsBetweenEvents = 2;
    public const double MaxSecondsBetweenEvents = 600;

    /// <summary>No session lasts longer, so a session started this long before AsOf ends by AsOf.</summary>
    public static readonly TimeSpan LongestSession = TimeSpan.FromSeconds(MaxEventsPerSession * MaxSecondsBetweenEvents);

    /// <summary>Formats as <c>yyyy-MM-ddTHH:mm:ss.fffZ</c>; the times generated are whole milliseconds.</summary>
    public static string FormatTime(DateTime utc)
    {
        // "O" is the runtime's fast path (a custom pattern costs several times more per event); its last four
        // fraction digits are zeros here, so cutting them loses nothing.
        Span<char> roundTrip = stackalloc char[28];
        utc.TryFormat(roundTrip, out _, "O", CultureInfo.InvariantCulture);
        return string.Concat(roundTrip[..23], "Z");
    }
}

/// <summary>
/// Generates one user's sessions and CRM records in time order, lazily, from a generator of the user's own. The
/// same persona and seed always give the same events, ids included.
/// </summary>
internal sealed class UserTimeline
{
    private const string WebBaseUrl = "https://shop.example.com";
    private const string AppBaseUrl = "app://shop";

    // Local hour-of-day weights: a lunch bump and an evening peak, little at night.
    private static readonly Weighted<int> LocalHours = new(new double[]
    {
        1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.5, 3, 3.2, 3.5, 4, 3.8, 3.5, 3.4, 3.5, 4, 4.5, 5.5, 6, 5.5, 4, 2,
    }.Select((weight, hour) => (hour, weight)));

    private static readonly Weighted<string> Referrers = Weighted.Of(
        ("", 4), ("https://www.google.com/", 5), ("https://www.bing.com/", 0.6), ("https://www.instagram.com/", 1),
        ("https://www.facebook.com/", 0.8), ("https://mail.example.com/newsletter", 1));
    private static readonly Weighted<(string Path, string Title)> ContentPages = Weighted.Of(
        (("/", "Home"), 3), (("/deals", "Deals of the week"), 1.2), (("/new", "New arrivals"), 1),
        (("/account", "My account"), 0.5), (("/help/shipping", "Shipping and returns"), 0.3), (("/stores", "Our stores"), 0.2));
    private static readonly string[] Campaigns = ["spring-sale", "summer-edit", "back-to-school", "black-friday", "holiday-gifts", "weekly-picks"];
    private static readonly string[] ShareChannels = ["whatsapp", "email", "instagram", "copy_link"];
    private static readonly string[] NewsletterFrequencies = ["weekly", "monthly", "off"];
    private static readonly string[] QueryPrefixes = ["cheap", "best", "new", "gift", "sale"];
    private static readonly string[] SignupChannels = ["web", "app", "store"];

    private readonly Persona persona;
    private readonly ProductCatalog catalog;
    private readonly Random random;
    private readonly Random tasteRandom;
    private readonly TastePlan? tastes;
    private readonly double tasteStrength;
    private readonly Weighted<BrowsingAction> actions;
    private readonly EventContext crmContext;
    private int eventCount;
    private int sessionCount;
    private int purchaseCount;
    private string? loyaltyTier;

    private UserTimeline(Persona persona, ProductCatalog catalog, SimulationOptions options)
    {
        this.persona = persona;
        this.catalog = catalog;
        random = Seeds.For(options.Seed, Seeds.Activity, persona.Index);
        // Taste draws come from a generator of their own, so that tastes change which product, never how much activity.
        tasteRandom = Seeds.For(options.Seed, Seeds.ItemChoice, persona.Index);
        tastes = persona.User.TasteGroup is null ? null : catalog.TastesFor(options.TasteGroups);
        tasteStrength = options.TasteStrength;
        actions = persona.Behavior.Actions.ToTable();
        crmContext = new EventContext { Country = persona.User.Country, City = persona.User.City, Locale = persona.User.Locale };
    }

    private SimulatedUser User => persona.User;

    private BehaviorProfile Behavior => persona.Behavior;

    public static IEnumerable<UserSession> Generate(Persona persona, ProductCatalog catalog, SimulationOptions options) =>
        new UserTimeline(persona, catalog, options).Sessions();

    private IEnumerable<UserSession> Sessions()
    {
        var crmRecords = new Queue<DateTime>(PlanCrmRecords());
        var crmRecordIndex = 0;

        var start = AtLocalHour(persona.ActiveFrom);
        while (start > persona.ActiveUntil)
        {
            start = start.AddDays(-1);
        }

        while (start <= persona.ActiveUntil)
        {
            while (crmRecords.TryPeek(out var recordTime) && recordTime <= start)
            {
                yield return CrmRecord(crmRecords.Dequeue(), crmRecordIndex++);
            }

            yield return Session(start, out var end);

            // A record that falls inside the session is stamped at its end, so each user's events stay in time order.
            while (crmRecords.TryPeek(out var recordTime) && recordTime <= end)
            {
                crmRecords.Dequeue();
                yield return CrmRecord(end, crmRecordIndex++);
            }

            var gapDays = Math.Max(random.Exponential(Behavior.MeanDaysBetweenSessions), 2.0 / 24);
            start = AtLocalHour(end.AddDays(gapDays));
            if (start < end.AddMinutes(30))
            {
                start = start.AddDays(1);
            }

            if (start > persona.ActiveUntil && Behavior.LastSessionWithinDays is { } recent && end < persona.ActiveUntil.AddDays(-recent))
            {
                start = ReturnVisit(end, recent);
            }
        }

        while (crmRecords.TryDequeue(out var recordTime))
        {
            yield return CrmRecord(recordTime, crmRecordIndex++);
        }
    }

    private List<DateTime> PlanCrmRecords()
    {
        var records = new List<DateTime>(2);
        if (!random.Chance(Behavior.CrmRecordProbability))
        {
            return records;
        }

        // The CRM usually learns about a customer early in their life; a second record is a later update.
        var span = persona.ActiveUntil - persona.ActiveFrom;
        var first = TruncateToMilliseconds(persona.ActiveFrom + (span * random.NextDouble() * 0.5));
        records.Add(first);
        if (random.Chance(0.3))
        {
            records.Add(TruncateToMilliseconds(first + ((persona.ActiveUntil - first) * random.NextDouble())));
        }

        return records;
    }

    private UserSession CrmRecord(DateTime time, int recordIndex)
    {
        var identify = new Identify
        {
            Demographics = new Demographics
            {
                BirthYear = persona.BirthYear,
                Gender = persona.Gender,
                Country = User.Country,
                Language = User.Language,
                City = User.City,
            },
        };
        loyaltyTier = loyaltyTier is null ? Behavior.LoyaltyTiers.Sample(random) : Upgrade(loyaltyTier);
        identify.Traits.Add("loyalty_tier", loyaltyTier);
        identify.Traits.Add("customer_since", persona.ActiveFrom.ToString("yyyy-MM", CultureInfo.InvariantCulture));
        identify.Traits.Add("signup_channel", random.Pick(SignupChannels));
        if (recordIndex > 0)
        {
            identify.Traits.Add("email_verified", "true");
        }

        var @event = NewEvent("identify", time, "crm", crmContext.Clone(), anonymousId: null);
        @event.Identify = identify;
        return new UserSession(User.UserId, User.Type, "crm", "", new DateTimeOffset(time, TimeSpan.Zero), [@event]);
    }

    private static string Upgrade(string tier) => tier switch
    {
        "bronze" => "silver",
        "silver" => "gold",
        _ => "platinum",
    };

    private UserSession Session(DateTime start, out DateTime end)
    {
        sessionCount++;
        var isApp = random.Chance(persona.AppShare);
        var source = isApp ? "app" : "web";
        var device = isApp ? persona.AppDevice : random.Chance(0.75) ? persona.WebDevice : PersonaFactory.WebDevices.Sample(random);
        var context = new EventContext
        {
            Device = device,
            UserAgent = isApp ? UserAgents.ForApp(device, persona.Platform) : UserAgents.ForWeb(device, persona.Platform, persona.DesktopBrowser),
            Country = User.Country,
            City = User.City,
            Locale = User.Locale,
            SessionId = $"s-{User.UserId}-{sessionCount}",
        };
        var anonymousId = sessionCount == 1 && !isApp ? persona.FirstVisitAnonymousId : null;
        var state = new SessionState(source, context, anonymousId, isApp ? AppBaseUrl : WebBaseUrl);

        var eventsAfterStart = random.SkewedCount(Behavior.MinSessionEvents, Behavior.TypicalSessionEvents, Behavior.MaxSessionEvents);
        var chance = random.Chance(Behavior.PurchaseProbabilityPerSession);
        var converts = purchaseCount < Behavior.MaxPurchases && (chance || purchaseCount < Behavior.MinPurchases);
        // Closing slots of a converting session are kept for the cart and the purchase.
        var openSlots = converts ? eventsAfterStart - 2 : eventsAfterStart;
        var preferenceSlot = sessionCount == 1 && random.Chance(0.5) ? 0
            : random.Chance(0.03) ? random.Next(openSlots)
            : -1;

        var events = new List<Event>(eventsAfterStart + 1);
        var time = start;
        events.Add(SessionStart(state, time));
        for (var slot = 0; slot < eventsAfterStart; slot++)
        {
            time = time.AddMilliseconds(Math.Round(1000 * Math.Clamp(
                random.Exponential(Behavior.MeanSecondsBetweenEvents),
                SessionPlanner.MinSecondsBetweenEvents,
                SessionPlanner.MaxSecondsBetweenEvents)));

            var isLastSlot = slot == eventsAfterStart - 1;
            var isCartSlot = slot == eventsAfterStart - 2;
            events.Add(
                converts && isLastSlot ? Purchase(state, time)
                : converts && isCartSlot && state.Cart.Count == 0 ? AddToCart(state, time, converts)
                : slot == preferenceSlot ? PreferenceSet(state, time, isConsentBanner: sessionCount == 1 && slot == 0)
                : Browse(state, time, converts));
        }

        end = time;
        return new UserSession(User.UserId, User.Type, source, context.SessionId, new DateTimeOffset(start, TimeSpan.Zero), events);
    }

    private Event SessionStart(SessionState state, DateTime time)
    {
        var @event = NewSessionEvent(state, "session_start", time);
        if (state.Source == "web")
        {
            @event.Page = new PageView { Url = $"{WebBaseUrl}/", Title = "Home", Referrer = Referrers.Sample(random) };
        }

        return @event;
    }

    private Event Browse(SessionState state, DateTime time, bool converts) => actions.Sample(random) switch
    {
        BrowsingAction.PageView => PageView(state, time),
        BrowsingAction.Search => Search(state, time),
        BrowsingAction.AddToCart when state.Cart.Count < Behavior.MaxBasketLines => AddToCart(state, time, converts),
        // A converting session never empties its cart, so the purchase that closes it has lines.
        BrowsingAction.RemoveFromCart when state.Cart.Count > (converts ? 1 : 0) => RemoveFromCart(state, time),
        BrowsingAction.Custom => Custom(state, time),
        _ => ProductView(state, time),
    };

    private Event PageView(SessionState state, DateTime time)
    {
        var @event = NewSessionEvent(state, "page_view", time);
        if (random.Chance(0.45))
        {
            var category = ChooseCategory();
            state.CurrentCategory = category;
            @event.Page = new PageView { Url = $"{state.BaseUrl}/c/{category}", Title = $"{Capitalize(category)} | Shop" };
        }
        else if (state.Cart.Count > 0 && random.Chance(0.3))
        {
            @event.Page = new PageView { Url = $"{state.BaseUrl}/cart", Title = "Your cart" };
        }
        else
        {
            var (path, title) = ContentPages.Sample(random);
            @event.Page = new PageView { Url = $"{state.BaseUrl}{path}", Title = title };
        }

        return @event;
    }

    private Event ProductView(SessionState state, DateTime time)
    {
        var category = state.CurrentCategory is { } current && random.Chance(0.6) ? current : ChooseCategory();
        var product = ChooseProduct(category);
        state.CurrentCategory = category;
        state.LastProduct = product;

        var @event = NewSessionEvent(state, "product_view", time);
        @event.Page = new PageView { Url = $"{state.BaseUrl}/p/{product.ProductId}", Title = product.Name };
        @event.Product = ProductAction(product, quantity: 0);
        return @event;
    }

    private Event Search(SessionState state, DateTime time)
    {
        var category = ChooseCategory();
        state.CurrentCategory = category;
        var keyword = random.Pick(catalog.InCategory(category)).Keyword;
        var query = random.Chance(0.25) ? $"{random.Pick(QueryPrefixes)} {keyword}" : keyword;

        var @event = NewSessionEvent(state, "search", time);
        @event.Search = new Search { Query = query, ResultCount = random.Chance(0.05) ? 0 : random.Next(3, 240) };
        return @event;
    }

    private Event AddToCart(SessionState state, DateTime time, bool converts)
    {
        var product = state.LastProduct ?? ChooseProduct(ChooseCategory());
        var quantity = Behavior.MaxQuantity == 1 || random.Chance(0.6) ? 1 : random.Next(2, Behavior.MaxQuantity + 1);
        state.AddToCart(product, quantity);

        var @event = NewSessionEvent(state, "add_to_cart", time);
        @event.Product = ProductAction(product, quantity);
        return @event;
    }

    private Event RemoveFromCart(SessionState state, DateTime time)
    {
        var (product, quantity) = state.RemoveFromCart(random.Next(state.Cart.Count));
        var @event = NewSessionEvent(state, "remove_from_cart", time);
        @event.Product = ProductAction(product, quantity);
        return @event;
    }

    private Event Purchase(SessionState state, DateTime time)
    {
        purchaseCount++;
        var purchase = new Purchase { OrderId = $"o-{User.UserId}-{purchaseCount}", Currency = User.Currency };
        foreach (var (product, quantity) in state.Cart)
        {
            purchase.Lines.Add(new PurchaseLine
            {
                ProductId = product.ProductId,
                Category = product.Category,
                Quantity = quantity,
                UnitPrice = ProductCatalog.FormatPrice(ProductCatalog.PriceIn(product, User.Currency)),
            });
        }

        state.Cart.Clear();
        var @event = NewSessionEvent(state, "purchase", time);
        @event.Purchase = purchase;
        return @event;
    }

    private Event PreferenceSet(SessionState state, DateTime time, bool isConsentBanner)
    {
        var preference = isConsentBanner
            ? new PreferenceSet { Key = "consent", Value = state.Source == "web" ? "cookie_banner" : "app_onboarding", PersonalizationOptIn = random.Chance(0.7) }
            : random.Next(4) switch
            {
                0 => NewsletterPreference(),
                1 => new PreferenceSet { Key = "sms", Value = "order_updates", SmsOptIn = random.Chance(0.4) },
                2 => new PreferenceSet { Key = "language", Value = User.Language },
                _ => new PreferenceSet { Key = $"category:{random.Pick(User.FavoriteCategories)}", Value = "like" },
            };

        var @event = NewSessionEvent(state, "preference_set", time);
        @event.Preference = preference;
        return @event;
    }

    private PreferenceSet NewsletterPreference()
    {
        var frequency = random.Pick(NewsletterFrequencies);
        return new PreferenceSet { Key = "newsletter", Value = frequency, EmailOptIn = frequency != "off" };
    }

    private Event Custom(SessionState state, DateTime time)
    {
        var custom = new CustomEvent();
        if (state.Cart.Count > 0 && random.Chance(0.3))
        {
            custom.Name = "coupon_applied";
            custom.Properties.Add("code", $"SAVE{random.Next(1, 4) * 5}");
            custom.Properties.Add("cart_lines", state.Cart.Count.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            switch (random.Next(3))
            {
                case 0:
                    custom.Name = "newsletter_click";
                    custom.Properties.Add("campaign", random.Pick(Campaigns));
                    custom.Properties.Add("link", "hero_banner");
                    break;
                case 1:
                    var wished = state.LastProduct ?? ChooseProduct(ChooseCategory());
                    custom.Name = "wishlist_add";
                    custom.Properties.Add("product_id", wished.ProductId);
                    custom.Properties.Add("category", wished.Category);
                    break;
                default:
                    var shared = state.LastProduct ?? ChooseProduct(ChooseCategory());
                    custom.Name = "share_product";
                    custom.Properties.Add("product_id", shared.ProductId);
                    custom.Properties.Add("channel", random.Pick(ShareChannels));
                    break;
            }
        }

        var @event = NewSessionEvent(state, "custom", time);
        @event.Custom = custom;
        return @event;
    }

    private ProductAction ProductAction(Product product, int quantity) => new()
    {
        ProductId = product.ProductId,
        Category = product.Category,
        Quantity = quantity,
        UnitPrice = ProductCatalog.FormatPrice(ProductCatalog.PriceIn(product, User.Currency)),
        Currency = User.Currency,
    };

    private string ChooseCategory() =>
        random.Chance(0.65) ? random.Pick(User.FavoriteCategories) : catalog.CategoriesByPopularity.Sample(random);

    private Product ChooseProduct(string category)
    {
        var products = catalog.InCategory(category);
        // The price level the user's type favours, as a fractional rank among the category's products.
        var position = Math.Pow(random.NextDouble(), Behavior.PriceRankExponent) * products.Count;
        if (tastes is null || User.TasteGroup is not { } group)
        {
            return products[Math.Min((int)position, products.Count - 1)];
        }

        // Mostly the user's taste, otherwise what everyone buys: both near the price level, so order values hold.
        var rank = tasteRandom.Chance(tasteStrength) ? tastes.NearestRank(category, group, position) : -1;
        return products[rank >= 0 ? rank : tastes.NearestBestsellerRank(category, position)];
    }

    private Event NewSessionEvent(SessionState state, string type, DateTime time) =>
        NewEvent(type, time, state.Source, state.Context.Clone(), state.AnonymousId);

    private Event NewEvent(string type, DateTime time, string source, EventContext context, string? anonymousId)
    {
        var @event = new Event
        {
            EventId = $"evt-{User.UserId}-{++eventCount}",
            Type = type,
            UserId = User.UserId,
            OccurredAt = SessionPlanner.FormatTime(time),
            Source = source,
            Context = context,
        };
        if (anonymousId is not null)
        {
            @event.AnonymousId = anonymousId;
        }

        return @event;
    }

    /// <summary>
    /// The start of one more session within <paramref name="withinDays"/> of the end of the active span and after
    /// <paramref name="end"/>; past the span (so the timeline ends) when there is no such time.
    /// </summary>
    private DateTime ReturnVisit(DateTime end, double withinDays)
    {
        var start = AtLocalHour(persona.ActiveUntil.AddDays(-random.Between(0, withinDays)));
        while (start > persona.ActiveUntil)
        {
            start = start.AddDays(-1);
        }

        return start >= end.AddMinutes(30) ? start : persona.ActiveUntil.AddDays(1);
    }

    /// <summary>A time on the user's local calendar day of <paramref name="around"/>, at an hour people shop.</summary>
    private DateTime AtLocalHour(DateTime around)
    {
        var localDay = (around + persona.UtcOffset).Date;
        var timeOfDay = TimeSpan.FromHours(LocalHours.Sample(random)) + TimeSpan.FromMilliseconds(random.Next(3_600_000));
        return DateTime.SpecifyKind(localDay + timeOfDay - persona.UtcOffset, DateTimeKind.Utc);
    }

    private static DateTime TruncateToMilliseconds(DateTime time) =>
        new(time.Ticks - (time.Ticks % TimeSpan.TicksPerMillisecond), DateTimeKind.Utc);

    private static string Capitalize(string text) => char.ToUpperInvariant(text[0]) + text[1..];

    private sealed class SessionState(string source, EventContext context, string? anonymousId, string baseUrl)
    {
        public string Source { get; } = source;
        public EventContext Context { get; } = context;
        public string? AnonymousId { get; } = anonymousId;
        public string BaseUrl { get; } = baseUrl;
        public string? CurrentCategory { get; set; }
        public Product? LastProduct { get; set; }
        public List<(Product Product, int Quantity)> Cart { get; } = [];

        public void AddToCart(Product product, int quantity)
        {
            var line = Cart.FindIndex(entry => entry.Product == product);
            if (line >= 0)
            {
                Cart[line] = (product, Cart[line].Quantity + quantity);
            }
            else
            {
                Cart.Add((product, quantity));
            }
        }

        public (Product Product, int Quantity) RemoveFromCart(int line)
        {
            var removed = Cart[line];
            Cart.RemoveAt(line);
            return removed;
        }
    }
}
