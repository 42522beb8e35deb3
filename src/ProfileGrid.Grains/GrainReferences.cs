namespace ProfileGrid.Grains;

/// <summary>
/// References to grains of <typeparamref name="TGrainInterface"/> made from its grain and interface types, resolved
/// once per process: Orleans 10.4's GetGrain looks the interface type up by reflection (its custom attributes) on every
/// call. A profile keeps the references it makes, but every new activation makes its own (its log partition, its
/// feature shard), so with many new users that lookup was a visible share of the host's CPU.
/// </summary>
public static class GrainReferences<TGrainInterface>
    where TGrainInterface : IAddressable
{
    // A class, so that the two types are published together (a struct of two could be read half-written).
    private static Resolved? s_resolved;

    /// <summary>The grain of <paramref name="key"/>; <paramref name="getGrain"/> (GetGrain with the same key) makes the first one.</summary>
    public static TGrainInterface Get(IGrainFactory grains, IdSpan key, Func<TGrainInterface> getGrain)
    {
        if (s_resolved is not { } resolved)
        {
            var reference = (GrainReference)(object)getGrain();
            s_resolved = new Resolved(reference.GrainId.Type, reference.InterfaceType);
            return (TGrainInterface)(object)reference;
        }

        return (TGrainInterface)grains.GetGrain(GrainId.Create(resolved.Type, key), resolved.Interface);
    }

    private sealed record Resolved(GrainType Type, GrainInterfaceType Interface);
}

/// <summary>GetGrain for string keys without its reflection per call (<see cref="GrainReferences{TGrainInterface}"/>): for paths taken per request.</summary>
public static class GrainReferenceExtensions
{
    public static TGrainInterface Reference<TGrainInterface>(this IGrainFactory grains, string key)
        where TGrainInterface : IGrainWithStringKey =>
        GrainReferences<TGrainInterface>.Get(grains, IdSpan.Create(key), () => grains.GetGrain<TGrainInterface>(key));
}
