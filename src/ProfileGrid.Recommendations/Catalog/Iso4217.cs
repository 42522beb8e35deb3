using System.Collections.Frozen;

namespace ProfileGrid.Recommendations.Catalog;

/// <summary>
/// ISO 4217 active currency codes: the one list, which the gateway validates events against too (ProfileGrid.Silo's
/// <c>IsoCodes.Currencies</c> is this set).
/// </summary>
public static class Iso4217
{
    public static readonly FrozenSet<string> Currencies = """
        AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF
        CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG
        HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
        MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD
        RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX
        USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
        """.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The code upper-cased when it is an ISO 4217 code (any case accepted), else null.</summary>
    public static string? Normalize(string? code) =>
        code?.Trim().ToUpperInvariant() is { Length: 3 } upper && Currencies.Contains(upper) ? upper : null;
}
