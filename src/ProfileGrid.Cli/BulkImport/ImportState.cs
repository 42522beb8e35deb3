using System.Text.Json;

namespace ProfileGrid.Cli.BulkImport;

/// <summary>
/// The progress file of a bulk import (beside the input, or <c>--state</c>): which file, mapping and tenant, and how
/// many of the planned events the grid acknowledged in an unbroken run from the first. Planning is deterministic, so a
/// resumed run plans the same events and sends from there on; the grid's own rejects are kept here for the rejects file.
/// </summary>
public sealed record ImportState
{
    public required string Fingerprint { get; init; }
    public required string Tenant { get; init; }

    /// <summary>The mapping file's hash (null in files written before it was kept): a later run under another one is warned.</summary>
    public string? MappingHash { get; init; }
    public int EventsTotal { get; init; }

    /// <summary>Events 0..EventsAcknowledged-1 are durably recorded by the grid.</summary>
    public int EventsAcknowledged { get; init; }

    /// <summary>The last file line of the last acknowledged event (orders span lines; for people reading the file).</summary>
    public long LastLineAcknowledged { get; init; }
    public bool Completed { get; init; }
    public List<ImportReject> GridRejects { get; init; } = [];

    public static ImportState? Read(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), MappingJson.Default.ImportState);
        }
        catch (JsonException)
        {
            return null; // a torn write cannot happen (rename), but a hand-edited file can: start over, ids keep it idempotent
        }
    }

    /// <summary>Written to a temporary file and renamed over the old one, so a kill leaves the old or the new state.</summary>
    public void Write(string path)
    {
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(this, MappingJson.Default.ImportState));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Identifies the input: its length, a hash of its first and last MiB, the mapping's hash and the tenant.</summary>
    public static string FingerprintOf(string input, string mappingHash, string tenant)
    {
        using var file = File.OpenRead(input);
        var length = file.Length;
        var head = new byte[(int)Math.Min(length, 1 << 20)];
        file.ReadExactly(head);
        var tail = new byte[(int)Math.Min(length, 1 << 20)];
        file.Seek(-tail.Length, SeekOrigin.End);
        file.ReadExactly(tail);
        var hash = System.Security.Cryptography.SHA256.HashData([.. head, .. tail, .. System.Text.Encoding.UTF8.GetBytes($"{length}|{mappingHash}|{tenant}")]);
        return Convert.ToHexStringLower(hash)[..32];
    }
}

/// <summary>The summary of one run, as <c>--summary-json</c> writes it.</summary>
public sealed record ImportSummaryJson
{
    public required string File { get; init; }
    public required string Tenant { get; init; }
    public long RowsRead { get; init; }
    public long RowsImported { get; init; }
    public long BlankLines { get; init; }
    public long DuplicatesDropped { get; init; }
    public long RowsRejected { get; init; }
    public Dictionary<string, long> RejectedByReason { get; init; } = [];
    public Dictionary<string, long> Warnings { get; init; } = [];

    /// <summary>What each warning counts when not rows.</summary>
    public Dictionary<string, string> WarningUnits { get; init; } = [];
    public int EventsPlanned { get; init; }
    public long RefundEvents { get; init; }
    public int ResumedFromEvent { get; init; }
    public long EventsSent { get; init; }
    public long EventsAcknowledged { get; init; }
    public long EventsRejectedByGrid { get; init; }
    public bool Completed { get; init; }
    public double Seconds { get; init; }
    public double PlanningSeconds { get; init; }
    public double RowsPerSecond { get; init; }
    public double EventsPerSecond { get; init; }
    public string? RejectsFile { get; init; }
}
