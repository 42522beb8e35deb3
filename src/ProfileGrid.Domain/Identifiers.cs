using System.Security.Cryptography;
using System.Text;

namespace ProfileGrid.Domain;

/// <summary>
/// Normalises the identifiers an identify event carries and hashes emails and phones, so that neither is kept as sent
/// (docs/identity.md). The hash is HMAC-SHA256 keyed by the tenant (and a deployment secret when one is set): the same
/// address gives the same hash within a tenant and a different one in every other tenant, so tenants never link.
/// </summary>
public static class Identifiers
{
    public const int MaxEmailLength = 254;
    public const int MinPhoneDigits = 6, MaxPhoneDigits = 15;

    /// <summary>
    /// An email trimmed and lower-cased (invariant), its domain in the ASCII form DNS uses (IDNA: bücher.de and
    /// xn--bcher-kva.de are one domain) without a root dot ("example.com." is example.com); null with a reason when it is
    /// not an address. Not put in a Unicode normal form: the host runs with invariant globalization, which has no
    /// normalization tables, so an accent typed as a combining mark is another address (clients send the precomposed form).
    /// </summary>
    public static string? NormaliseEmail(string raw, out string? reason)
    {
        reason = null;
        var email = raw.Trim();
        if (email.Length > MaxEmailLength)
        {
            reason = $"is longer than {MaxEmailLength} characters";
            return null;
        }

        email = email.ToLowerInvariant();
        var at = email.IndexOf('@');
        if (at <= 0 || at != email.LastIndexOf('@') || at == email.Length - 1)
        {
            reason = "is not an email address (one @ between a local part and a domain)";
            return null;
        }

        if (email.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            reason = "holds white space or control characters";
            return null;
        }

        var domain = email[(at + 1)..];
        if (domain.EndsWith('.'))
        {
            domain = domain[..^1];
        }

        if (domain.IndexOf('.') is <= 0 || domain.EndsWith('.') || domain.Contains("..", StringComparison.Ordinal))
        {
            reason = "is not an email address: its domain is not a name of two or more labels such as example.com";
            return null;
        }

        if (!Ascii.IsValid(domain))
        {
            try
            {
                domain = Idn.GetAscii(domain);
            }
            catch (ArgumentException)
            {
                reason = "is not an email address: its domain is not a valid internationalised domain name";
                return null;
            }
        }

        var normalised = email[..(at + 1)] + domain;
        if (normalised.Length > MaxEmailLength)
        {
            reason = $"is longer than {MaxEmailLength} characters once its domain is in ASCII form";
            return null;
        }

        return normalised;
    }

    private static readonly System.Globalization.IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = false };

    /// <summary>
    /// A phone number as digits, with a leading '+' when it was given in international form ("+" or "00"); spaces, dots,
    /// dashes, slashes and brackets are dropped. No country is guessed: "030 1234567" and "+49 30 1234567" stay different.
    /// </summary>
    public static string? NormalisePhone(string raw, out string? reason)
    {
        reason = null;
        var text = raw.Trim();
        var builder = new StringBuilder(text.Length);
        var international = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '+' && builder.Length == 0 && !international)
            {
                international = true;
            }
            else if (c is >= '0' and <= '9')
            {
                builder.Append(c);
            }
            else if (c is not (' ' or '.' or '-' or '/' or '(' or ')'))
            {
                reason = $"holds '{c}'; a phone number has digits, an optional leading +, and separators (space . - / ( ))";
                return null;
            }
        }

        var digits = builder.ToString();
        if (!international && digits.StartsWith("00", StringComparison.Ordinal))
        {
            international = true;
            digits = digits[2..];
        }

        if (digits.Length is < MinPhoneDigits or > MaxPhoneDigits)
        {
            reason = $"has {digits.Length} digits; a phone number has {MinPhoneDigits} to {MaxPhoneDigits}";
            return null;
        }

        return international ? "+" + digits : digits;
    }

    /// <summary>Lower-case hex HMAC-SHA256 of "kind:value", keyed by the tenant and <paramref name="secret"/>.</summary>
    public static string Hash(string tenant, string kind, string normalised, string? secret = null)
    {
        var key = Encoding.UTF8.GetBytes((secret ?? "") + "\n" + tenant);
        var digest = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(kind + ":" + normalised));
        return Convert.ToHexStringLower(digest);
    }
}
