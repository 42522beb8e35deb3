namespace ProfileGrid.Silo.Hosting;

/// <summary>The web dashboard served under /dashboard on the REST port (configuration section "ProfileGrid:Dashboard").</summary>
public sealed class DashboardOptions
{
    public const string Section = "ProfileGrid:Dashboard";

    /// <summary>Serve the dashboard at /dashboard; false answers 404 there. It only reads the public REST API.</summary>
    public bool Enabled { get; set; } = true;
}
