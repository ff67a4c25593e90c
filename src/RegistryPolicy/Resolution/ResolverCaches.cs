using System.Collections.Immutable;
using RegistryPolicy.Credentials;
using RegistryPolicy.Diagnostics;
using RegistryPolicy.Policies;
using RegistryPolicy.Snapshots;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Resolution;

/// <summary>
/// Decoded values, reason texts and what each candidate read from each Secret content: valid for one policy, and shared by
/// the two evaluations of a what-if under the same policy (most Secret contents are the same on both sides). Not
/// thread-safe: one per evaluation (and a fresh one per explanation).
/// </summary>
internal sealed class ResolverCaches
{
    public TextCache Text { get; } = new();

    public Dictionary<(int Kind, int Rule, SecretReference? Base, ResolutionSource Source), string> Why { get; } = [];

    public Dictionary<(int Candidate, SecretData Data), Resolver.Fields> Fields { get; } = [];
}
