using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace OrleansShards.Silo.Auth;

/// <summary>
/// The configured tokens, kept as SHA-256 hashes only. A presented token is hashed and compared with every
/// known hash in constant time (<see cref="CryptographicOperations.FixedTimeEquals"/>), so neither the time of
/// an answer nor a memory dump tells the tokens. The token file is read again when its time or size changes.
/// </summary>
public sealed class AuthTokenStore
{
    /// <summary>The shortest token accepted: anything shorter could be guessed.</summary>
    public const int MinimumTokenLength = 16;

    private static readonly TimeSpan FileCheckInterval = TimeSpan.FromSeconds(1);

    private readonly Entry[] _configured;
    private readonly string? _file;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private Entry[] _fromFile = [];
    private (DateTime WriteTime, long Length) _fileVersion;
    private long _nextFileCheckTicks;

    /// <summary>Loads and checks the tokens of <paramref name="settings"/>.</summary>
    /// <exception cref="InvalidOperationException">A token is empty or too short, a role unknown, or the token file unreadable; the message names the place.</exception>
    public AuthTokenStore(AuthSettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _time = time;
        _configured = settings.Tokens.Select((t, i) => Check(t.Token, t.Role, t.Name, $"{AuthSettings.Section}:Tokens:{i}", i)).ToArray();
        if (!string.IsNullOrWhiteSpace(settings.TokensFile))
        {
            _file = Path.GetFullPath(settings.TokensFile);
            ReloadFile(force: true);
        }
    }

    /// <summary>Whether requests must carry a token.</summary>
    public bool Enabled => _configured.Length > 0 || _file is not null;

    /// <summary>The holder of <paramref name="token"/>, or null when no configured token matches.</summary>
    public TokenHolder? Find(ReadOnlySpan<char> token)
    {
        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        var bytes = Encoding.UTF8.GetBytes(token.ToArray());
        SHA256.HashData(bytes, presented);
        CryptographicOperations.ZeroMemory(bytes);
        ReloadFile(force: false);
        var entries = Volatile.Read(ref _fromFile);
        TokenHolder? found = null;
        // No early exit: every hash is compared whatever matched, so the time does not tell which entry it was.
        foreach (var entry in _configured.Concat(entries))
        {
            if (CryptographicOperations.FixedTimeEquals(presented, entry.Hash))
            {
                found ??= entry.Holder;
            }
        }

        return found;
    }

    private void ReloadFile(bool force)
    {
        if (_file is null || (!force && _time.GetUtcNow().UtcTicks < Volatile.Read(ref _nextFileCheckTicks)))
        {
            return;
        }

        lock (_gate)
        {
            Volatile.Write(ref _nextFileCheckTicks, (_time.GetUtcNow() + FileCheckInterval).UtcTicks);
            var info = new FileInfo(_file);
            if (!info.Exists)
            {
                if (force)
                {
                    throw new InvalidOperationException($"{AuthSettings.Section}:TokensFile '{_file}' does not exist");
                }

                return; // A secret being re-mounted: keep the tokens read last.
            }

            var version = (info.LastWriteTimeUtc, info.Length);
            if (!force && version == _fileVersion)
            {
                return;
            }

            try
            {
                Volatile.Write(ref _fromFile, Parse(File.ReadAllText(_file), _file));
                _fileVersion = version;
            }
            catch (Exception e) when (!force && e is IOException or InvalidOperationException)
            {
                // A half-written file during a rotation: keep the tokens read last and look again next time.
            }
        }
    }

    private static Entry[] Parse(string text, string file)
    {
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('[') || trimmed.StartsWith('{'))
        {
            List<AuthTokenSettings>? tokens;
            try
            {
                using var document = JsonDocument.Parse(trimmed);
                var array = document.RootElement.ValueKind == JsonValueKind.Object
                    && document.RootElement.TryGetProperty("tokens", out var inner) ? inner : document.RootElement;
                tokens = array.Deserialize<List<AuthTokenSettings>>(new JsonSerializerOptions(JsonSerializerDefaults.Web));
            }
            catch (JsonException e)
            {
                throw new InvalidOperationException($"{AuthSettings.Section}:TokensFile '{file}' is not valid JSON (line {e.LineNumber + 1}): expected [{{\"token\", \"role\", \"name\"?}}, ...] or {{\"tokens\": [...]}}");
            }

            return (tokens ?? []).Select((t, i) => Check(t.Token, t.Role, t.Name, $"{AuthSettings.Section}:TokensFile '{file}' entry {i}", i)).ToArray();
        }

        var entries = new List<Entry>();
        var lines = text.Split('\n');
        for (var n = 0; n < lines.Length; n++)
        {
            var line = lines[n].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new InvalidOperationException($"{AuthSettings.Section}:TokensFile '{file}' line {n + 1} is not 'role:token'");
            }

            entries.Add(Check(line[(colon + 1)..].Trim(), line[..colon].Trim(), null, $"{AuthSettings.Section}:TokensFile '{file}' line {n + 1}", entries.Count));
        }

        return [.. entries];
    }

    private static Entry Check(string? token, string? role, string? name, string place, int index)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            throw new InvalidOperationException($"{place}: the token is empty");
        }

        if (token.Length < MinimumTokenLength)
        {
            throw new InvalidOperationException($"{place}: the token is shorter than {MinimumTokenLength} characters (use e.g. `openssl rand -hex 32`)");
        }

        var normalized = role?.Trim().ToLowerInvariant();
        if (normalized is null || !ShardsRoles.All.Contains(normalized))
        {
            throw new InvalidOperationException($"{place}: role '{role}' is not one of {string.Join(", ", ShardsRoles.All)}");
        }

        var holder = new TokenHolder(string.IsNullOrWhiteSpace(name) ? $"{normalized}#{index}" : name.Trim(), normalized);
        return new Entry(SHA256.HashData(Encoding.UTF8.GetBytes(token)), holder);
    }

    private sealed record Entry(byte[] Hash, TokenHolder Holder);
}
