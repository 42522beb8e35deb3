namespace ProfileGrid.Grains.Lake;

/// <summary>
/// Where the lake's files live: a flat namespace of '/'-separated names (blob names, or paths under a folder).
/// Writes replace a file whole and are visible only once complete.
/// </summary>
public interface ILakeStore
{
    /// <summary>A description for logs and messages ("folder /tmp/x", "container app-lake").</summary>
    string Location { get; }

    /// <summary>Every file whose name starts with <paramref name="prefix"/>, with its size in bytes.</summary>
    IAsyncEnumerable<LakeFile> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>
    /// The folders directly under <paramref name="prefix"/> (which ends with '/'), each as its full name ending with '/':
    /// for a user's read of the lake, which lists the day folders of a tenant and then only the days it needs. The default
    /// derives them from a listing of every file under the prefix; stores that can list one level do so.
    /// </summary>
    async IAsyncEnumerable<string> ListFoldersAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var file in ListAsync(prefix, cancellationToken))
        {
            var slash = file.Name.IndexOf('/', prefix.Length);
            if (slash > 0 && seen.Add(file.Name[..(slash + 1)]))
            {
                yield return file.Name[..(slash + 1)];
            }
        }
    }

    /// <summary>The file's bytes, or null if there is none.</summary>
    Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Writes (or replaces) the file whole.</summary>
    Task WriteAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default);

    /// <summary>Deletes the file if it exists.</summary>
    Task DeleteAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>A file of the lake.</summary>
public readonly record struct LakeFile(string Name, long Size);

/// <summary>The lake in a local folder: tests, memory runs and laptops. A write goes to a temporary file that is then renamed over the target.</summary>
public sealed class FolderLakeStore(string root) : ILakeStore
{
    private readonly string _root = Path.GetFullPath(root);

    public string Location => $"folder {_root}";

    public string Root => _root;

    public async IAsyncEnumerable<LakeFile> ListAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(_root))
        {
            yield break;
        }

        // The deepest folder the prefix names completely, then a filter on the full name.
        var slash = prefix.LastIndexOf('/');
        var folder = slash < 0 ? _root : Path.Combine(_root, prefix[..slash]);
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        // Other partitions compact (delete files) in these folders while this lists: a file gone before its size is read
        // is skipped, as a listing a moment later would not have found it.
        var files = new DirectoryInfo(folder).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true });
        foreach (var file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = Path.GetRelativePath(_root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            if (name.StartsWith(prefix, StringComparison.Ordinal) && !name.EndsWith(".tmp", StringComparison.Ordinal) && SizeOf(file) is { } size)
            {
                yield return new LakeFile(name, size);
            }
        }

        await Task.CompletedTask;
    }

    private static long? SizeOf(FileInfo file)
    {
        try
        {
            return file.Length;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<string> ListFoldersAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var folder = Path.Combine(_root, prefix.TrimEnd('/'));
        if (!prefix.EndsWith('/') || !Directory.Exists(folder))
        {
            yield break;
        }

        foreach (var path in Directory.EnumerateDirectories(folder))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return prefix + Path.GetFileName(path) + "/";
        }

        await Task.CompletedTask;
    }

    public async Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken = default)
    {
        var path = PathOf(name);
        try
        {
            return await File.ReadAllBytesAsync(path, cancellationToken);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public async Task WriteAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        var path = PathOf(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            await file.WriteAsync(content, cancellationToken);
            await file.FlushAsync(cancellationToken);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    public Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        File.Delete(PathOf(name));
        return Task.CompletedTask;
    }

    private string PathOf(string name)
    {
        var path = Path.GetFullPath(Path.Combine(_root, name));
        if (!path.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' is not a name inside the lake.", nameof(name));
        }

        return path;
    }
}
