namespace ProfileGrid.Simulator;

internal enum MobilePlatform
{
    Ios,
    Android,
}

/// <summary>Plausible browser and app user agents; a user keeps theirs, as a real device would.</summary>
internal static class UserAgents
{
    public const string AppVersion = "5.12.0";

    private static readonly string[] DesktopBrowsers =
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ];

    public static string ForWeb(string device, MobilePlatform platform, int desktopBrowser) => (device, platform) switch
    {
        ("desktop", _) => DesktopBrowsers[desktopBrowser % DesktopBrowsers.Length],
        ("mobile", MobilePlatform.Ios) =>
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        ("mobile", MobilePlatform.Android) =>
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        ("tablet", MobilePlatform.Ios) =>
            "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        _ => "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    };

    public static string ForApp(string device, MobilePlatform platform) => (device, platform) switch
    {
        ("tablet", MobilePlatform.Ios) => $"ShopApp/{AppVersion} (iPadOS 18.1; iPad13,18)",
        ("tablet", MobilePlatform.Android) => $"ShopApp/{AppVersion} (Android 14; SM-X710)",
        (_, MobilePlatform.Ios) => $"ShopApp/{AppVersion} (iOS 18.1; iPhone15,2)",
        _ => $"ShopApp/{AppVersion} (Android 14; Pixel 8)",
    };
}
