using System.Globalization;
using System.Threading.RateLimiting;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.RateLimiting;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Silo.Gateway;

namespace ProfileGrid.Silo.Access;

/// <summary>API keys on every endpoint, per-key rate limits, and the key API (/v1/admin/keys); docs/security.md.</summary>
public static class AccessHostingExtensions
{
    /// <summary>Registers keys, the tenant interceptor, rate limiting and the bootstrap key, unless ProfileGrid:Auth:Enabled is false.</summary>
    public static WebApplicationBuilder AddProfileGridAccess(this WebApplicationBuilder builder)
    {
        var settings = builder.Configuration.GetSection(AuthSettings.Section).Get<AuthSettings>() ?? new AuthSettings();
        builder.Services.AddSingleton(settings);
        if (!settings.Enabled)
        {
            return builder;
        }

        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.Configure<GrpcServiceOptions>(o => o.Interceptors.Add<TenantAccessInterceptor>());
        builder.Services.AddHostedService<BootstrapKey>();
        builder.Services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, (string, int, int)>(http =>
                http.Features.Get<ApiKeyIdentity>() is { } identity
                    ? RateLimitPartition.GetTokenBucketLimiter(Limits(identity, settings), TokenBucket)
                    : RateLimitPartition.GetNoLimiter<(string, int, int)>(default));
            o.OnRejected = (rejected, _) => RejectAsync(rejected, settings);
        });
        return builder;
    }

    /// <summary>Key checks, then rate limits; call right after routing, before anything reads a body.</summary>
    public static WebApplication UseProfileGridAccess(this WebApplication app)
    {
        if (app.Services.GetRequiredService<AuthSettings>().Enabled)
        {
            app.UseMiddleware<ApiKeyMiddleware>();
            app.UseRateLimiter();
        }

        return app;
    }

    /// <summary>The key API for operators: GET/POST /v1/admin/keys, POST /v1/admin/keys/{id}/revoke, and GET /v1/admin/access (every endpoint's rule).</summary>
    public static WebApplication MapProfileGridKeys(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<AuthSettings>().Enabled)
        {
            return app;
        }

        var keys = app.MapGroup("/v1/admin");
        keys.MapGet("/keys", async (ApiKeyStore store) => TypedResults.Json(new { keys = (await store.ListAsync()).Select(View).ToArray() }));
        keys.MapPost("/keys", CreateAsync);
        keys.MapPost("/keys/{id}/revoke", async (string id, ApiKeyStore store) =>
            await store.RevokeAsync(id) is { } key ? Results.Json(View(key)) : Results.NotFound(new RestEndpoints.ErrorBody($"No API key has id '{id}'.")));
        keys.MapGet("/access", (EndpointDataSource endpoints) => TypedResults.Json(new { endpoints = AccessTable(endpoints) }));
        return app;
    }

    /// <summary>The body of POST /v1/admin/keys.</summary>
    public sealed record CreateKeyRequest(string? Name, string[]? Scopes, string[]? Tenants, bool AllTenants = false, int? PermitsPerSecond = null, int? Burst = null);

    // Unknown fields refused: a typo of a rate setting ("permitsPerSecnd") made a key with the default rate, answered 201.
    private static readonly System.Text.Json.JsonSerializerOptions StrictKeyJson = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    private static readonly Dictionary<string, string> KeyFieldTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["name"] = "text",
        ["scopes"] = "a list of texts",
        ["tenants"] = "a list of texts",
        ["allTenants"] = "true or false",
        ["permitsPerSecond"] = "a whole number from 1 to 2147483647",
        ["burst"] = "a whole number from 1 to 2147483647",
    };

    /// <summary>
    /// The body read strictly, each problem naming its field (probe68: a wrong type was "could not be read" with no field,
    /// and an unknown field was ignored).
    /// </summary>
    private static async Task<(CreateKeyRequest? Request, string? Problem)> ReadKeyRequestAsync(HttpRequest http)
    {
        if (!http.HasJsonContentType())
        {
            return (null, $"Content-Type: '{http.ContentType}' is not accepted here; send the body as application/json (UTF-8)");
        }

        try
        {
            return await System.Text.Json.JsonSerializer.DeserializeAsync<CreateKeyRequest>(http.Body, StrictKeyJson) is { } request
                ? (request, null)
                : (null, "body: send a JSON object of name, scopes, tenants, allTenants, permitsPerSecond, burst");
        }
        catch (System.Text.Json.JsonException ex)
        {
            if (System.Text.RegularExpressions.Regex.Match(ex.Message, "The JSON property '([^']*)' could not be mapped") is { Success: true } unknown)
            {
                return (null, $"{unknown.Groups[1].Value}: is not a field here (the fields are {string.Join(", ", KeyFieldTypes.Keys)})");
            }

            var field = ex.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
            var name = field?.Split('[', '.')[0];
            return (null, name is not null && KeyFieldTypes.TryGetValue(name, out var expected)
                ? $"{field}: expected {expected}"
                : "body: not a JSON object of name, scopes, tenants, allTenants, permitsPerSecond, burst");
        }
    }

    private static async Task<IResult> CreateAsync(HttpRequest http, ApiKeyStore store, EventValidator validator)
    {
        var (request, unreadable) = await ReadKeyRequestAsync(http);
        if (request is null)
        {
            return Results.BadRequest(new RestEndpoints.ErrorBody(unreadable!));
        }

        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 200)
        {
            problems.Add("name: 1 to 200 characters");
        }

        var scopes = request.Scopes ?? [];
        if (scopes.Length == 0 || scopes.Any(s => !ApiScopes.All.Contains(s, StringComparer.Ordinal)))
        {
            problems.Add($"scopes: one or more of {string.Join(", ", ApiScopes.All)} ({string.Join(", ", scopes)})");
        }

        var tenants = request.Tenants ?? [];
        if (request.AllTenants == tenants.Length > 0)
        {
            problems.Add("tenants: one or more tenants, or allTenants true (an operator key) and no tenants");
        }

        foreach (var tenant in tenants)
        {
            if (!validator.TryValidateTenant(tenant, out var error))
            {
                problems.Add(error!.ToString());
            }
        }

        if (request.PermitsPerSecond is < 1 || request.Burst is < 1)
        {
            problems.Add("permitsPerSecond and burst: at least 1 when given");
        }

        if (problems.Count > 0)
        {
            return Results.BadRequest(new RestEndpoints.ErrorBody(string.Join("; ", problems)));
        }

        var (key, text) = await store.CreateAsync(request.Name!.Trim(), scopes, tenants, request.AllTenants, request.PermitsPerSecond, request.Burst);
        return Results.Json(new { key = View(key), secret = text }, statusCode: StatusCodes.Status201Created);
    }

    private static object View(ApiKeyRecord key) => new
    {
        id = key.Id,
        name = key.Name,
        scopes = key.Scopes,
        tenants = key.AllTenants ? ["*"] : key.Tenants,
        allTenants = key.AllTenants,
        createdAt = key.CreatedAt,
        revokedAt = key.RevokedAt,
        permitsPerSecond = key.PermitsPerSecond,
        burst = key.Burst,
    };

    /// <summary>Every routed endpoint and its rule ("none": refused to everyone).</summary>
    private static object[] AccessTable(EndpointDataSource endpoints) =>
        endpoints.Endpoints.OfType<RouteEndpoint>()
            .Select(e =>
            {
                var pattern = "/" + (e.RoutePattern.RawText ?? "").TrimStart('/');
                var rule = AccessPolicy.For(e, pattern);
                return new
                {
                    pattern,
                    methods = e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.ToArray() ?? [],
                    grpcMethod = e.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.FullName,
                    access = rule?.Kind.ToString().ToLowerInvariant() ?? "none",
                    scope = rule?.Scope,
                };
            })
            .OrderBy(e => e.pattern, StringComparer.Ordinal)
            .ToArray<object>();

    private static (string Id, int Rate, int Burst) Limits(ApiKeyIdentity identity, AuthSettings settings) =>
        (identity.Id, identity.Key.PermitsPerSecond ?? settings.PermitsPerSecond, identity.Key.Burst ?? settings.Burst);

    /// <summary>A bucket of Burst tokens refilled at Rate per second, in steps of at most a tenth of a second.</summary>
    private static TokenBucketRateLimiterOptions TokenBucket((string Id, int Rate, int Burst) limits)
    {
        var tokens = Math.Max(1, limits.Rate / 10);
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = limits.Burst,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = TimeSpan.FromSeconds((double)tokens / limits.Rate),
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    private static ValueTask RejectAsync(OnRejectedContext rejected, AuthSettings settings)
    {
        var http = rejected.HttpContext;
        var identity = http.Features.Get<ApiKeyIdentity>()!;
        var (_, rate, burst) = Limits(identity, settings);
        var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) && retryAfter > TimeSpan.Zero
            ? retryAfter
            : TimeSpan.FromSeconds(1.0 / rate);
        var milliseconds = Math.Max(1, (long)Math.Ceiling(wait.TotalMilliseconds));
        var headers = new Dictionary<string, string>
        {
            // Retry-After takes whole seconds; gRPC's pushback takes milliseconds.
            ["Retry-After"] = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
            ["grpc-retry-pushback-ms"] = milliseconds.ToString(CultureInfo.InvariantCulture),
        };
        return new ValueTask(ApiKeyMiddleware.RefuseAsync(http, StatusCodes.Status429TooManyRequests, StatusCode.ResourceExhausted,
            $"API key {identity.Id} is over its rate limit ({rate} requests/s, burst {burst}); retry in {milliseconds} ms.", headers));
    }
}
