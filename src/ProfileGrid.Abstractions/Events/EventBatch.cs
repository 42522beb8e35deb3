namespace ProfileGrid.Abstractions.Events;

/// <summary>
/// The events of one user from one ingest request: the unit of delivery on the events stream.
/// One stream item (one queue message, one state write) carries many events.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.event-batch")]
public sealed record EventBatch([property: Id(0)] IReadOnlyList<UserEvent> Events);
