using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Swap;

namespace RegistryPolicy.AspNetCore;

/// <summary>Reads the map and policy files named in the options into a <see cref="WebhookConfiguration"/>.</summary>
internal static class ConfigurationLoader
{
    /// <summary>Files larger than this are refused (a map or policy is a few kilobytes).</summary>
    public const int MaxFileBytes = 16 * 1024 * 1024;

    /// <summary>The files' contents as one fingerprint: a reload happens only when it changes.</summary>
    public static string Fingerprint(RegistryPolicyWebhookOptions options)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string? path in new[] { options.MapFile, options.PolicyFile })
        {
            if (path is null)
            {
                continue;
            }

            try
            {
                hash.AppendData(ReadLimited(path));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                hash.AppendData(Encoding.UTF8.GetBytes("unreadable:" + e.GetType().Name));
            }
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    /// <summary>Loads a version; <paramref name="error"/> says why not (it names the file, line and column; never a value from a Secret).</summary>
    public static WebhookConfiguration? TryLoad(RegistryPolicyWebhookOptions options, out string? error)
    {
        var notes = ImmutableArray.CreateBuilder<Diagnostic>();
        var description = new List<string>();
        ImageSwapper? swapper = null;
        try
        {
            ImageSwapMap? map = null;
            if (options.MapFile is { } mapFile)
            {
                byte[] bytes = ReadLimited(mapFile);
                map = ImageSwapMap.Load(Encoding.UTF8.GetString(bytes), mapFile);
                description.Add($"map {mapFile} ({bytes.Length} bytes)");
            }
            else if (options.MirrorRegistries is { } list)
            {
                map = ImageSwapMap.LoadMirrorRegistries(list);
                description.Add("MIRROR_REGISTRIES list");
            }

            if (map is not null)
            {
                if (map.HasErrors)
                {
                    error = Describe(map.Diagnostics);
                    return null;
                }

                if (map.Maps.Count == 0 && map.Exact.Count == 0 && map.Replace.IsEmpty)
                {
                    // An emptied file (a truncated ConfigMap, a failed template) must not turn swapping off unnoticed.
                    error = $"{options.MapFile ?? "MIRROR_REGISTRIES"}: the map has no entries; to swap nothing on purpose, write 'default::'";
                    return null;
                }

                notes.AddRange(map.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning));
                swapper = new ImageSwapper(map, new ImageSwapOptions { Dialect = options.Dialect, LeaveSwappedImages = !options.SwapSwappedImages });
            }

            CompiledPolicy? policy;
            if (options.PolicyFile is { } policyFile)
            {
                byte[] bytes = ReadLimited(policyFile);
                PolicyLoadResult loaded = PolicyLoader.Load(Encoding.UTF8.GetString(bytes), policyFile);
                if (loaded.HasErrors)
                {
                    error = Describe(loaded.Diagnostics.Items);
                    return null;
                }

                notes.AddRange(loaded.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning));
                policy = loaded.Policy;
                description.Add($"policy {policyFile} ({bytes.Length} bytes)");
            }
            else
            {
                string name = options.Preset ?? PolicyPresets.DefaultName;
                if (!PolicyPresets.TryGet(name, out policy))
                {
                    error = $"there is no preset '{name}'; the presets are: {string.Join(", ", PolicyPresets.Names)}";
                    return null;
                }

                description.Add($"preset {name}");
            }

            error = null;
            return new WebhookConfiguration
            {
                Swapper = swapper,
                SwapOptions = new WorkloadSwapOptions { DisableLabel = options.DisableLabel, DisableValue = options.DisableValue },
                Policy = policy,
                ExcludedNamespaces = options.ExcludedNamespaces,
                Diagnostics = notes.ToImmutable(),
                Description = string.Join(", ", description),
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            error = e.Message;
            return null;
        }
    }

    private static string Describe(IEnumerable<Diagnostic> diagnostics)
    {
        Diagnostic[] errors = [.. diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)];
        string first = errors.Length > 0 ? errors[0].ToString() : "invalid";
        return errors.Length > 1 ? $"{first} (and {errors.Length - 1} more error(s))" : first;
    }

    internal static byte[] ReadLimited(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var buffer = new MemoryStream();
        byte[] chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            if (buffer.Length + read > MaxFileBytes)
            {
                throw new InvalidDataException($"{path}: larger than {MaxFileBytes / (1024 * 1024)} MiB; a map or policy is a few kilobytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
