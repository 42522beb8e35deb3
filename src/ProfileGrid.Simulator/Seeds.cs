namespace ProfileGrid.Simulator;

/// <summary>
/// Derives independent seeds for each part of the simulation, so that each user draws from a generator of their own:
/// adding users, or generating them in another order, leaves every existing user's events unchanged.
/// </summary>
internal static class Seeds
{
    // Salts keep the generators of different purposes apart even when they share a seed and an index.
    public const ulong Catalog = 0x43415441;
    public const ulong TypeBlock = 0x54595045;
    public const ulong Persona = 0x50455253;
    public const ulong Activity = 0x41435449;
    public const ulong TastePlan = 0x504C414E;
    public const ulong Taste = 0x54415354;
    public const ulong ItemChoice = 0x4954454D;
    public const ulong Response = 0x52455350;
    public const ulong PersonalTaste = 0x4C494B45;

    public static Random For(int seed, ulong salt, int index) => new(Derive(seed, salt, index));

    /// <summary>A hash of <paramref name="text"/> that is the same in every process (FNV-1a over its UTF-16 code units).</summary>
    public static ulong StableHash(string text, ulong hash = 0xCBF29CE484222325UL)
    {
        foreach (var c in text)
        {
            hash = (hash ^ c) * 0x100000001B3UL;
        }

        return hash;
    }

    /// <summary>A uniform number in [0, 1) that is a fixed function of <paramref name="key"/>.</summary>
    public static double Uniform(ulong key) => (Mix(key) >> 11) * (1.0 / (1UL << 53));

    // SplitMix64 finaliser: string.GetHashCode and HashCode.Combine are randomised per process, so they cannot be used.
    public static int Derive(int seed, ulong salt, int index)
    {
        var x = Mix(((ulong)(uint)seed << 32) ^ (uint)index ^ (salt * 0x9E3779B97F4A7C15UL));
        return (int)(x & int.MaxValue);
    }

    private static ulong Mix(ulong x)
    {
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
