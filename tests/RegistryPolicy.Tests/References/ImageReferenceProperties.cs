using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RegistryPolicy.References;

namespace RegistryPolicy.Tests.References;

public class ImageReferenceProperties
{
    private static Arbitrary<string> AnyInput => Gen.OneOf(ReferenceGenerators.Hostile, ReferenceGenerators.NearValid).ToArbitrary();

    [Property(MaxTest = 500)]
    public Property Canonical_references_round_trip_through_parse_and_format() =>
        Prop.ForAll(ReferenceGenerators.Canonical.ToArbitrary(), c =>
        {
            bool ok = ImageReference.TryParse(c.Text, out ImageReference reference, out ReferenceError error);
            return (ok
                    && reference.ToString() == c.Text
                    && reference.Domain == c.Domain
                    && reference.Path == c.Path
                    && reference.Tag == c.Tag
                    && reference.Digest == c.Digest)
                .Label($"{c.Text} -> {(ok ? $"{reference.Domain}|{reference.Path}|{reference.Tag}|{reference.Digest}" : error.ToString())}");
        });

    [Property(MaxTest = 1000)]
    public Property Normalisation_is_idempotent() =>
        Prop.ForAll(AnyInput, input =>
        {
            if (!ImageReference.TryParseNormalized(input, out ImageReference once))
            {
                return true.Label("rejected");
            }

            return (ImageReference.TryParseNormalized(once.ToString(), out ImageReference twice) && twice == once)
                .Label($"{input} -> {once} -> {twice}");
        });

    [Property(MaxTest = 500)]
    public Property Normalisation_of_canonical_references_is_idempotent() =>
        Prop.ForAll(ReferenceGenerators.Canonical.ToArbitrary(), c =>
        {
            if (!ImageReference.TryParseNormalized(c.Text, out ImageReference once))
            {
                return true.Label("rejected");
            }

            return (ImageReference.TryParseNormalized(once.ToString(), out ImageReference twice) && twice == once)
                .Label($"{c.Text} -> {once} -> {twice}");
        });

    [Property(MaxTest = 500)]
    public Property The_familiar_form_normalises_back_to_the_same_reference() =>
        Prop.ForAll(ReferenceGenerators.Canonical.ToArbitrary(), c =>
        {
            if (!ImageReference.TryParseNormalized(c.Text, out ImageReference normalized) || normalized.Domain is null)
            {
                return true.Label("rejected or domainless");
            }

            // Upstream quirk: a Docker Hub namespace that looks like a host ('foo.bar/x') is read back as a domain. Docker Hub
            // namespaces cannot contain '.' or ':', so the law holds for every name Docker Hub can hold.
            string familiar = normalized.ToFamiliarString();
            string firstComponent = familiar.Split('/')[0];
            if (normalized.Domain == "docker.io" && familiar.Contains('/', StringComparison.Ordinal)
                && (firstComponent.IndexOfAny(['.', ':']) >= 0 || firstComponent == "localhost"))
            {
                return true.Label("Docker Hub namespace that looks like a host");
            }

            return (ImageReference.TryParseNormalized(familiar, out ImageReference back) && back == normalized)
                .Label($"{c.Text} -> {normalized} -> {familiar} -> {back}");
        });

    [Property(MaxTest = 2000)]
    public Property No_input_makes_the_Try_API_throw_and_results_are_consistent() =>
        Prop.ForAll(AnyInput, input =>
        {
            bool parsed = ImageReference.TryParse(input, out ImageReference p, out ReferenceError pe);
            bool normalized = ImageReference.TryParseNormalized(input, out ImageReference n, out ReferenceError ne);
            bool parseConsistent = parsed
                ? p.ToString() == input && pe.Kind == ReferenceErrorKind.None
                : p.IsDefault && pe.Code.Length > 0 && pe.Message.Length > 0;
            bool normalizeConsistent = normalized
                ? !n.IsDefault && ne.Kind == ReferenceErrorKind.None && ImageReference.TryParse(n.ToString(), out _)
                : n.IsDefault && ne.Code.Length > 0;
            _ = p.WithDefaultTag().ToFamiliarString();
            _ = n.WithDefaultTag().ToFamiliarName();
            return (parseConsistent && normalizeConsistent).Label($"'{input}': {pe} / {ne}");
        });

    [Property(MaxTest = 1000)]
    public Property Parse_and_normalise_agree_on_valid_canonical_names() =>
        Prop.ForAll(AnyInput, input =>
        {
            // A reference that is already normalised is its own normalisation.
            if (!ImageReference.TryParseNormalized(input, out ImageReference n) || n.ToString() != input)
            {
                return true.Label("not canonical");
            }

            return (ImageReference.TryParse(input, out ImageReference p) && p == n).Label(input);
        });

    [Property(MaxTest = 500)]
    public Property The_default_tag_is_added_exactly_when_there_is_neither_tag_nor_digest() =>
        Prop.ForAll(ReferenceGenerators.Canonical.ToArbitrary(), c =>
        {
            ImageReference reference = ImageReference.Parse(c.Text);
            ImageReference tagged = reference.WithDefaultTag();
            bool expectAdded = c.Tag is null && c.Digest is null;
            return (expectAdded
                    ? tagged.ToString() == c.Text + ":latest" && tagged.Tag == "latest" && tagged.Name == reference.Name
                    : tagged == reference)
                .Label($"{c.Text} -> {tagged}");
        });

    [Property(MaxTest = 2000)]
    public Property Normalising_with_the_default_tag_in_one_step_equals_normalising_then_adding_it() =>
        Prop.ForAll(Gen.OneOf(ReferenceGenerators.Hostile, ReferenceGenerators.NearValid, ReferenceGenerators.Canonical.Select(c => c.Text)).ToArbitrary(), input =>
        {
            bool twoSteps = ImageReference.TryParseNormalized(input, out ImageReference n, out ReferenceError e2);
            bool oneStep = ImageReference.TryParseNormalizedWithDefaultTag(input, out ImageReference t, out ReferenceError e1);
            return (twoSteps == oneStep && e1 == e2 && t == n.WithDefaultTag()).Label($"'{input}': {n.WithDefaultTag()} vs {t}; {e2} vs {e1}");
        });
}
