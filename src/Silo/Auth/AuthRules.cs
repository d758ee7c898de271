namespace OrleansShards.Silo.Auth;

/// <summary>
/// Who may use a route: one rule per method and route template, first match wins. A route is
/// matched by its template (parameter names do not matter, <c>{**rest}</c> matches the rest of the
/// path), so routes added later fall under the rules of their family without touching their
/// endpoints; a request that no rule names is for <see cref="ShardsRoles.Admin"/> only.
/// </summary>
public static class AuthRules
{
    /// <summary>A rule: <paramref name="Method"/> (<c>*</c> for any) and <paramref name="Template"/>, open to anyone or to <paramref name="Roles"/> (admin always).</summary>
    /// <param name="Method">The HTTP method, or <c>*</c>.</param>
    /// <param name="Template">The route template, e.g. <c>/v1/jobs/{id}/leases</c>.</param>
    /// <param name="Open">No token needed.</param>
    /// <param name="Roles">The roles besides admin that may use the route.</param>
    public sealed record Rule(string Method, string Template, bool Open, IReadOnlyList<string> Roles)
    {
        internal string[] Segments { get; } = SegmentsOf(Template);
    }

    private static Rule Anyone(string method, string template) => new(method, template, true, []);

    private static Rule For(string method, string template, params string[] roles) => new(method, template, false, roles);

    /// <summary>The rules, in the order they are tried.</summary>
    public static IReadOnlyList<Rule> Table { get; } =
    [
        // Probes and documents that hold no data: a kubelet or a browser has no token to send.
        Anyone("GET", "/healthz"),
        Anyone("GET", "/readyz"),
        Anyone("GET", "/openapi/{**document}"),
        Anyone("GET", "/scalar"),
        Anyone("GET", "/scalar/{**rest}"),
        Anyone("GET", "/"),
        Anyone("GET", "/status/{**asset}"),

        // The checkpoint exposes the whole task book and import creates a job: admin only, like every write to a job's lifecycle.
        For("GET", "/v1/jobs/{id}/checkpoint"),
        For("POST", "/v1/jobs/import"),

        // Workers.
        For("GET", "/v1/jobs", ShardsRoles.Worker, ShardsRoles.Reader),
        For("GET", "/v1/jobs/{id}", ShardsRoles.Worker, ShardsRoles.Reader),
        For("GET", "/v1/jobs/{id}/leases", ShardsRoles.Worker, ShardsRoles.Reader),
        For("POST", "/v1/jobs/{id}/leases", ShardsRoles.Worker),
        For("POST", "/v1/jobs/{id}/reports", ShardsRoles.Worker),
        For("POST", "/v1/jobs/{id}/heartbeats", ShardsRoles.Worker),
        For("POST", "/v1/jobs/{id}/releases", ShardsRoles.Worker),
        For("GET", "/v1/jobs/{id}/tasks/{taskId}/records", ShardsRoles.Worker, ShardsRoles.Reader),

        // Training runs: the ranks of a trainer are workers; they create their run, read batches, commit and rewind.
        // Deleting a run is admin's, like deleting a job.
        For("POST", "/v1/jobs/{id}/runs", ShardsRoles.Worker),
        For("GET", "/v1/jobs/{id}/runs", ShardsRoles.Worker, ShardsRoles.Reader),
        For("GET", "/v1/jobs/{id}/runs/{run}", ShardsRoles.Worker, ShardsRoles.Reader),
        For("GET", "/v1/jobs/{id}/runs/{run}/batches", ShardsRoles.Worker, ShardsRoles.Reader),
        For("POST", "/v1/jobs/{id}/runs/{run}/commits", ShardsRoles.Worker),
        For("POST", "/v1/jobs/{id}/runs/{run}/rewind", ShardsRoles.Worker),

        // Topics: producers write, everyone with a token reads (records, SSE stream, WebSocket).
        For("POST", "/v1/topics", ShardsRoles.Producer),
        For("POST", "/v1/topics/{topic}/partitions/{partition}/records", ShardsRoles.Producer),
        For("GET", "/v1/topics/{**rest}", ShardsRoles.Worker, ShardsRoles.Producer, ShardsRoles.Reader),
        For("GET", "/v1/topics", ShardsRoles.Worker, ShardsRoles.Producer, ShardsRoles.Reader),

        // Readers look at everything else that is a GET (status stream, metrics, routes added later).
        For("GET", "/{**rest}", ShardsRoles.Reader),
    ];

    /// <summary>The rule of a request to <paramref name="template"/> (or, with no endpoint, its path) with <paramref name="method"/>; null: admin only.</summary>
    public static Rule? Find(string method, string template)
    {
        ArgumentNullException.ThrowIfNull(method);
        var segments = SegmentsOf(template);
        var lookup = method == "HEAD" ? "GET" : method;
        return Table.FirstOrDefault(rule => (rule.Method == "*" || rule.Method == lookup) && Matches(rule.Segments, segments));
    }

    /// <summary>Whether <paramref name="role"/> may use a route under <paramref name="rule"/>.</summary>
    public static bool Allows(Rule? rule, string role) =>
        role == ShardsRoles.Admin || (rule is not null && (rule.Open || rule.Roles.Contains(role)));

    private static bool Matches(string[] rule, string[] request)
    {
        for (var i = 0; i < rule.Length; i++)
        {
            if (rule[i] == "{**}")
            {
                return request.Length > i;
            }

            if (i >= request.Length || (rule[i] != "{}" && request[i] != "{}" && !string.Equals(rule[i], request[i], StringComparison.OrdinalIgnoreCase)))
            {
                return false;
            }

            // A parameter of the rule matches any segment; a parameter of the endpoint's template only a parameter of the rule.
            if (request[i] == "{}" && rule[i] != "{}")
            {
                return false;
            }
        }

        return rule.Length == request.Length;
    }

    private static string[] SegmentsOf(string template) =>
        template.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => s.StartsWith("{**", StringComparison.Ordinal) || s.StartsWith("{*", StringComparison.Ordinal) ? "{**}"
                : s.StartsWith('{') && s.EndsWith('}') ? "{}"
                : s)
            .ToArray();
}
