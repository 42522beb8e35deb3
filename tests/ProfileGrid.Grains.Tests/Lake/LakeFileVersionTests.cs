using System.Text.Json.Serialization;
using ProfileGrid.Grains.Lake;

namespace ProfileGrid.Grains.Tests.Lake;

/// <summary>
/// Lake files outlive releases: a file written before a column existed (order_part came in 2026-12) is read with the
/// column null, as the documented DuckDB view reads it (union_by_name), not refused.
/// </summary>
public sealed class LakeFileVersionTests
{
    public sealed class RowBefore
    {
        [JsonPropertyName("event_id")] public string EventId { get; set; } = "";
        [JsonPropertyName("order_id")] public string? OrderId { get; set; }
    }

    public sealed class RowAfter
    {
        [JsonPropertyName("event_id")] public string EventId { get; set; } = "";
        [JsonPropertyName("order_id")] public string? OrderId { get; set; }
        [JsonPropertyName("order_part")] public int? OrderPart { get; set; }
    }

    [Fact]
    public async Task A_file_written_before_a_column_existed_reads_with_the_column_null()
    {
        var file = await LakeParquet.WriteAsync<RowBefore>([new() { EventId = "e-1", OrderId = "536365" }, new() { EventId = "e-2" }]);

        var rows = await LakeParquet.ReadAsync<RowAfter>(file);

        Assert.Equal(["e-1", "e-2"], rows.Select(r => r.EventId));
        Assert.Equal("536365", rows[0].OrderId);
        Assert.All(rows, r => Assert.Null(r.OrderPart));
        var grouped = new List<RowAfter>();
        await foreach (var row in LakeParquet.ReadRowGroupsAsync<RowAfter>(file, "event_id", ["e-2"]))
        {
            grouped.Add(row);
        }

        Assert.Equal(2, grouped.Count);
        Assert.All(grouped, r => Assert.Null(r.OrderPart));
    }
}
