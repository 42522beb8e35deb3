namespace ProfileGrid.Abstractions.Events;

/// <summary>The behavioral event types ProfileGrid understands. Wire names are snake_case (page_view, add_to_cart, ...).</summary>
public enum EventKind
{
    PageView = 1,
    ProductView = 2,
    Search = 3,
    AddToCart = 4,
    RemoveFromCart = 5,
    Purchase = 6,
    SessionStart = 7,
    Identify = 8,
    PreferenceSet = 9,
    Custom = 10,

    /// <summary>An explicit rating of a product (stars, a score); <see cref="UserEvent.Rating"/> holds the value.</summary>
    Rating = 11,

    /// <summary>A recommendation list was shown; <see cref="UserEvent.Feedback"/> holds its id and items in order.</summary>
    Impression = 12,

    /// <summary>An item of a shown recommendation list was clicked; <see cref="UserEvent.Feedback"/> says which.</summary>
    Click = 13,

    /// <summary>
    /// Money given back for an order (a cancellation or a return); <see cref="UserEvent.Refund"/> says how much. Reduces
    /// the user's revenue (never below zero per currency), not their order count.
    /// </summary>
    Refund = 14,
}

/// <summary>Where an event came from.</summary>
public enum Channel
{
    Unknown = 0,
    Web = 1,
    App = 2,
    Crm = 3,
}

public enum DeviceType
{
    Unknown = 0,
    Desktop = 1,
    Mobile = 2,
    Tablet = 3,
    Tv = 4,
    Other = 5,
}

public enum Gender
{
    Unknown = 0,
    Female = 1,
    Male = 2,
    NonBinary = 3,
}
