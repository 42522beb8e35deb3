namespace ProfileGrid.Cli.BulkImport;

/// <summary>
/// English country names as exports write them, to ISO 3166-1 alpha-2 (the tools run without ICU, so no culture data):
/// the countries of the UCI Online Retail files and other common ones. A mapping's <c>countries</c> adds or overrides.
/// </summary>
internal static class CountryNames
{
    public static readonly Dictionary<string, string> Codes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["United Kingdom"] = "GB", ["UK"] = "GB", ["Great Britain"] = "GB", ["England"] = "GB", ["Scotland"] = "GB", ["Wales"] = "GB",
        ["Northern Ireland"] = "GB", ["Ireland"] = "IE", ["EIRE"] = "IE", ["France"] = "FR", ["Germany"] = "DE", ["Deutschland"] = "DE",
        ["Netherlands"] = "NL", ["The Netherlands"] = "NL", ["Holland"] = "NL", ["Belgium"] = "BE", ["Luxembourg"] = "LU", ["Switzerland"] = "CH",
        ["Austria"] = "AT", ["Spain"] = "ES", ["Portugal"] = "PT", ["Italy"] = "IT", ["Malta"] = "MT", ["Cyprus"] = "CY", ["Greece"] = "GR",
        ["Denmark"] = "DK", ["Norway"] = "NO", ["Sweden"] = "SE", ["Finland"] = "FI", ["Iceland"] = "IS", ["Poland"] = "PL",
        ["Czech Republic"] = "CZ", ["Czechia"] = "CZ", ["Slovakia"] = "SK", ["Hungary"] = "HU", ["Slovenia"] = "SI", ["Croatia"] = "HR",
        ["Romania"] = "RO", ["Bulgaria"] = "BG", ["Lithuania"] = "LT", ["Latvia"] = "LV", ["Estonia"] = "EE", ["Serbia"] = "RS",
        ["Russia"] = "RU", ["Russian Federation"] = "RU", ["Ukraine"] = "UA", ["Turkey"] = "TR", ["Türkiye"] = "TR", ["Israel"] = "IL",
        ["Lebanon"] = "LB", ["Saudi Arabia"] = "SA", ["United Arab Emirates"] = "AE", ["UAE"] = "AE", ["Bahrain"] = "BH", ["Qatar"] = "QA",
        ["Kuwait"] = "KW", ["Egypt"] = "EG", ["Nigeria"] = "NG", ["Kenya"] = "KE", ["South Africa"] = "ZA", ["RSA"] = "ZA", ["Morocco"] = "MA",
        ["United States"] = "US", ["USA"] = "US", ["United States of America"] = "US", ["Canada"] = "CA", ["Mexico"] = "MX", ["Brazil"] = "BR",
        ["Argentina"] = "AR", ["Chile"] = "CL", ["Colombia"] = "CO", ["Peru"] = "PE", ["West Indies"] = "JM", ["Japan"] = "JP", ["China"] = "CN",
        ["Hong Kong"] = "HK", ["Taiwan"] = "TW", ["Korea"] = "KR", ["South Korea"] = "KR", ["Singapore"] = "SG", ["Thailand"] = "TH",
        ["Malaysia"] = "MY", ["Indonesia"] = "ID", ["Philippines"] = "PH", ["Vietnam"] = "VN", ["India"] = "IN", ["Pakistan"] = "PK",
        ["Australia"] = "AU", ["New Zealand"] = "NZ", ["Greenland"] = "GL", ["Faroe Islands"] = "FO",
    };
}
