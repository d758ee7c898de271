namespace OrleansShards.Readers;

/// <summary>
/// Resolves secret references when a connection is opened: <c>env:NAME</c> reads an environment
/// variable, <c>file:PATH</c> a file (trailing newline removed). Only the operator's configuration
/// holds references, so a job cannot make the server read an arbitrary variable or file.
/// </summary>
public static class SecretReference
{
    /// <summary>Whether <paramref name="value"/> is a reference (<c>env:</c> or <c>file:</c>) rather than a literal.</summary>
    public static bool IsReference(string value) =>
        value.StartsWith("env:", StringComparison.Ordinal) || value.StartsWith("file:", StringComparison.Ordinal);

    /// <summary>A value that may be given literally (it is not secret on its own) or as a reference.</summary>
    public static string ResolveOrLiteral(string value, string place) => IsReference(value) ? Resolve(value, place) : value;

    /// <summary>The value <paramref name="reference"/> points at.</summary>
    /// <exception cref="InvalidOperationException">The reference is malformed or points at nothing; the message names the reference, never a value.</exception>
    public static string Resolve(string reference, string place)
    {
        if (reference.StartsWith("env:", StringComparison.Ordinal))
        {
            var name = reference[4..];
            return Environment.GetEnvironmentVariable(name)
                ?? throw new InvalidOperationException($"{place}: the environment variable '{name}' that holds the secret is not set");
        }

        if (reference.StartsWith("file:", StringComparison.Ordinal))
        {
            var path = reference[5..];
            try
            {
                return File.ReadAllText(path).TrimEnd('\r', '\n');
            }
            catch (IOException e)
            {
                throw new InvalidOperationException($"{place}: the secret file '{path}' cannot be read: {e.GetType().Name}");
            }
        }

        throw new InvalidOperationException($"{place}: a secret must be a reference, 'env:NAME' or 'file:PATH', not a literal value");
    }
}
