namespace ProfileGrid.Domain.Tests;

/// <summary>Profile state as earlier releases stored it, to prove that newer code still reads it.</summary>
internal static class LegacyRows
{
    /// <summary>
    /// A profile written (Orleans binary storage format) by the release before event ids were hashed, when the dedupe
    /// window held the ids as strings in [Id(0)]: tenant "shop", user "alice", event ids "e-1", "注文-イベント-2"
    /// and "e-3" (a purchase of order "o-9", 89.90 EUR), applied at 2026-11-28T12:00Z. Made by serializing that profile
    /// with the build of commit ed3592b.
    /// </summary>
    public const string StringIdWindow =
        "IEAJc2hvcEELYWxpY2Uh4CGAACDoIEdN3wiBAAAAAAAAAADgIYAAIOggR03fCIEAAAAAAAAAAOABDSHAAQkDAcEBwQHBASHgwQEh4OAhIAEFCQMFAAkIAxkABeAhgADsBfBCTd8IgQAAAAAAAAAA4CGAAGRHu0VN3wiBAAAAAAAAAADgAQWBAHhBywIAAAAhAAMhIIAA7AXwQk3fCIEAAAAAAAAAAOAhgABkR7tFTd8IgQAAAAAAAAAA4AEB4ODBAQEFIQEDQQdFVVIgQCEAAAIAAAAAAB4jAAAAAAAAAQXg4CGAAGRHu0VN3wiBAAAAAAAAAADgIYAAZEe7RU3fCIEAAAAAAAAAAOAhAAMhABQTBQENAQVBIQAABAAAAAAAmOkPAAAAAAABBeDggZkfvgvH+wdAIYAAZEe7RU3fCIEAAAAAAAAAAOAhAQNBC3Nob2VzgAAAAAAAABRA4CGAAGRHu0VN3wiBAAAAAAAAAADgIQAHIUAHZS0xCQMFIYAA7AXwQk3fCIEAAAAAAAAAAODBAcEBwQHgIEAr5rOo5paHLeOCpOODmeODs+ODiC0yCQMFIYAAqKZVRE3fCIEAAAAAAAAAAODBAcEBwQHgIEAHZS0zCQMZIYAAZEe7RU3fCIEAAAAAAAAAAOBBCXAtMTfBlUEHby054OABAQEBAQHgISDgwQHBAcEBwQEh4OAhCAMBwQEJAwUhgABkR7tFTd8IgQAAAAAAAAAA4MEBwQHBAcEBwQHBASEBAwkDBQAN4CEBAwkDAQAN4CEAMQEBAAEAAQABAAEAAQABAAEAAQABAAEADQABAAEAAQABAAEAAQABAAEAAQABAAEAAeDgISAAB8GlwLfAyeDg4A==";
}
