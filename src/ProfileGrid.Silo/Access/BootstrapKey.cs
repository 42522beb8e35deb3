namespace ProfileGrid.Silo.Access;

/// <summary>
/// The first operator key (<see cref="AuthSettings.BootstrapKeyFile"/>): created with the file on first start (owner
/// read/write only), registered again from the file on every start, so the file and the key store cannot drift apart
/// (a wiped store gets the same key back). A revoked bootstrap key stays revoked.
/// </summary>
public sealed partial class BootstrapKey(AuthSettings settings, ApiKeyStore store, ILogger<BootstrapKey> logger) : IHostedService
{
    public const string Name = "bootstrap operator key";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(settings.BootstrapKeyFile))
        {
            LogNoBootstrapFile();
            return;
        }

        var path = Path.GetFullPath(settings.BootstrapKeyFile);
        var text = await ReadOrCreateAsync(path, cancellationToken);
        if (!ApiKeyText.TryParseId(text, out var id))
        {
            throw new InvalidOperationException($"{path} (ProfileGrid:Auth:BootstrapKeyFile) does not hold a ProfileGrid API key; delete it to have a new one created.");
        }

        var key = await store.StoreAsync(id, text, Name, ApiScopes.All, [], allTenants: true, permitsPerSecond: null, burst: null);
        if (key.RevokedAt is not null)
        {
            LogBootstrapRevoked(id, path);
        }
        else
        {
            LogBootstrapReady(id, path);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The file's key; a new one written with CreateNew when there is none (a silo starting beside it loses the race and reads the winner's).</summary>
    public static async Task<string> ReadOrCreateAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            var (_, created) = ApiKeyText.NewKey();
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            try
            {
                await using var file = new FileStream(path, options);
                await using var writer = new StreamWriter(file);
                await writer.WriteLineAsync(created.AsMemory(), cancellationToken);
                return created;
            }
            catch (IOException) when (File.Exists(path))
            {
            }
        }

        return (await File.ReadAllTextAsync(path, cancellationToken)).Trim();
    }

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "Operator key {KeyId} is in {Path}")]
    private partial void LogBootstrapReady(string keyId, string path);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "The bootstrap operator key {KeyId} in {Path} is revoked; delete the file to have a new one created")]
    private partial void LogBootstrapRevoked(string keyId, string path);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Information, Message = "API keys are required and ProfileGrid:Auth:BootstrapKeyFile is not set: keys come from an operator key created earlier (docs/security.md)")]
    private partial void LogNoBootstrapFile();
}
