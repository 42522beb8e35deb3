using ProfileGrid.Cli.Export;

namespace ProfileGrid.Cli.Tests;

/// <summary>The export's columns are the ones docs/export.md documents, each name once.</summary>
public class ExportColumnsTests
{
    private static readonly string Docs = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "export.md"));

    public static TheoryData<string, string[]> Tables => new()
    {
        { "profiles", ProfileColumns.All.Select(c => c.Name).ToArray() },
        { "assignments", AssignmentColumns.All.Select(c => c.Name).ToArray() },
        { "segments", SegmentColumns.All.Select(c => c.Name).ToArray() },
    };

    [Theory]
    [MemberData(nameof(Tables))]
    public void Every_column_is_documented_and_named_once(string table, string[] names)
    {
        Assert.True(names.Length == names.Distinct(StringComparer.Ordinal).Count(), $"{table}: a column name repeats");
        Assert.All(names, name => Assert.True(Docs.Contains($"| `{name}` |", StringComparison.Ordinal), $"{table}: column {name} is not in docs/export.md"));
    }

    [Theory]
    [InlineData("/out/assignments.csv", "/out/assignments.segments.csv")]
    [InlineData("assignments.parquet", "assignments.segments.parquet")]
    [InlineData("/out/a.b.jsonl", "/out/a.b.segments.jsonl")]
    public void The_segments_file_sits_beside_the_assignments(string assignments, string segments) =>
        Assert.Equal(segments, ExportCommand.SegmentsFileFor(assignments));

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ProfileGrid.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("ProfileGrid.sln is not above the test output.");
    }
}
