using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator;

/// <summary>
/// The users of a simulated stream, responding to the recommendation lists shown to them (<see cref="RespondingUser"/>)
/// after the hidden truth of <see cref="Model"/>: showing them recommendations produces feedback events with a known
/// true effect. Pure and deterministic: equal stream options, model options and lists give equal events. Safe to use
/// from several threads at once (nothing changes after construction).
/// </summary>
public sealed class ResponseSimulator
{
    private readonly Dictionary<string, RespondingUser> users;

    /// <summary>The users of <paramref name="stream"/>, responding after <paramref name="options"/> (the defaults when null).</summary>
    public ResponseSimulator(SyntheticStream stream, ResponseModelOptions? options = null)
        : this((stream ?? throw new ArgumentNullException(nameof(stream))).Options, stream.Catalog, stream.Users, options)
    {
    }

    /// <summary>
    /// The given users of a stream planned with <paramref name="simulation"/> and <paramref name="catalog"/> (for
    /// example users planned one at a time), responding after <paramref name="options"/> (the defaults when null).
    /// </summary>
    public ResponseSimulator(SimulationOptions simulation, ProductCatalog catalog, IEnumerable<SimulatedUser> users, ResponseModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(simulation);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(users);
        Model = new ResponseModel(catalog, simulation, options ?? new ResponseModelOptions());
        this.users = users.ToDictionary(user => user.UserId, user => new RespondingUser(user, Model, simulation.Seed), StringComparer.Ordinal);
    }

    /// <summary>The click and purchase model every user responds after: the known truth.</summary>
    public ResponseModel Model { get; }

    /// <summary>The responding user with this id.</summary>
    /// <exception cref="ArgumentException">The simulator has no such user.</exception>
    public RespondingUser User(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        return users.TryGetValue(userId, out var user)
            ? user
            : throw new ArgumentException($"The simulation has no user '{userId}'.", nameof(userId));
    }

    /// <summary>The events the user's client sends for the list: <see cref="RespondingUser.Respond"/>.</summary>
    public IReadOnlyList<Event> Respond(string userId, ServedList list) => User(userId).Respond(list);

    /// <summary>The known truth for a list of these items shown to the user: <see cref="ResponseModel.Expect"/>.</summary>
    public ListExpectation Expect(string userId, IReadOnlyList<string> itemIds) => User(userId).Expect(itemIds);
}
