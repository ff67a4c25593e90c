using FsCheck;
using FsCheck.Fluent;

namespace RegistryPolicy.Tests.References;

/// <summary>Generators of valid reference parts and of hostile strings over the grammar's alphabet.</summary>
internal static class ReferenceGenerators
{
    private static readonly char[] Alnum = "abcdefghijklmnopqrstuvwxyz0123456789".ToCharArray();
    private static readonly char[] Hex = "0123456789abcdef".ToCharArray();

    private static Gen<string> Run(int max) =>
        Gen.Choose(1, max).SelectMany(n => Gen.ArrayOf(Gen.Elements(Alnum), n)).Select(chars => new string(chars));

    public static Gen<string> PathComponent =>
        from first in Run(6)
        from count in Gen.Choose(0, 2)
        from rest in Gen.ArrayOf(Gen.Zip(Gen.Elements(".", "_", "__", "-", "--"), Run(4)), count)
            .Select(pairs => string.Concat(pairs.Select(p => p.Item1 + p.Item2)))
        select first + rest;

    public static Gen<string> Path =>
        Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(PathComponent, n)).Select(parts => string.Join('/', parts));

    private static Gen<string> Label =>
        from a in Gen.Elements("a", "b", "z", "x1", "Reg", "my-host", "0", "k8s")
        select a;

    public static Gen<string> Domain => Gen.OneOf(
        Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(Label, n)).Select(labels => string.Join('.', labels)),
        Gen.Elements("localhost", "docker.io", "index.docker.io", "registry-1.docker.io", "[::1]", "[fd00::2]"))
        .SelectMany(host => Gen.OneOf(Gen.Constant(host), Gen.Choose(1, 65535).Select(p => $"{host}:{p}")));

    public static Gen<string> Tag =>
        from first in Gen.Elements("v", "1", "_", "L", "latest")
        from rest in Gen.Elements("", ".2", "-rc.1", "_x", "ABC", "0.1.2-alpine")
        select first + rest;

    public static Gen<string> Digest =>
        from algorithm in Gen.Elements(("sha256", 64), ("sha384", 96), ("sha512", 128))
        from hex in Gen.ArrayOf(Gen.Elements(Hex), algorithm.Item2)
        select $"{algorithm.Item1}:{new string(hex)}";

    /// <summary>A valid reference as upstream Parse accepts it, with its parts.</summary>
    public static Gen<(string Text, string? Domain, string Path, string? Tag, string? Digest)> Canonical =>
        from domain in Gen.OneOf(Domain.Select(d => (string?)d), Gen.Constant<string?>(null))
        // Without a domain a first component that fits the host grammar would be read as one, so use a single component.
        from path in domain is null ? PathComponent : Path
        from tag in Gen.OneOf(Tag.Select(t => (string?)t), Gen.Constant<string?>(null))
        from digest in Gen.OneOf(Digest.Select(d => (string?)d), Gen.Constant<string?>(null))
        let text = (domain is null ? "" : domain + "/") + path + (tag is null ? "" : ":" + tag) + (digest is null ? "" : "@" + digest)
        select (text, domain, path, tag, digest);

    /// <summary>Strings over the characters that matter to the grammar, plus a few outside it.</summary>
    public static Gen<string> Hostile =>
        Gen.Choose(0, 40).SelectMany(n => Gen.ArrayOf(Gen.Frequency(
            (10, Gen.Elements(Alnum)),
            (3, Gen.Elements('/', ':', '@', '.', '_', '-')),
            (1, Gen.Elements('A', 'Z', '[', ']', ' ', '\t', '\n', '\r', '\u212A', '\u0130', '\u00e9', '\uD800', '$', '+', '~', '\0'))), n))
        .Select(chars => new string(chars));

    /// <summary>Valid-looking references assembled from valid parts, with parts dropped, doubled or misplaced.</summary>
    public static Gen<string> NearValid =>
        from parts in Gen.ArrayOf(Gen.OneOf(Domain, Path, Tag, Digest, Gen.Elements("/", ":", "@", "library", "docker.io")), 5)
        select string.Concat(parts);
}
