using RegistryPolicy.Diagnostics;
using RegistryPolicy.Primitives;

namespace RegistryPolicy.Policies;

/// <summary><c>spec.serviceAccountLinks</c>: unique names, valid ServiceAccount and Secret names, bounded Secret sets, pull-secret types.</summary>
internal static class ServiceAccountLinkValidator
{
    public static void Validate(ValueArray<ServiceAccountLinkRule> links, ValidationContext context)
    {
        var linkNames = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < links.Length; i++)
        {
            ServiceAccountLinkRule link = links[i];
            string path = $"spec.serviceAccountLinks[{i}]";
            if (!linkNames.Add(link.Name))
            {
                context.Report(DiagnosticSeverity.Error, path + ".name", "duplicate-name", $"two ServiceAccount links are named '{link.Name}'; give each a unique name");
            }

            if (!KubernetesNames.IsDns1123Subdomain(link.ServiceAccount))
            {
                context.Report(DiagnosticSeverity.Error, path + ".serviceAccount", "bad-name", $"'{link.ServiceAccount}' is not a valid ServiceAccount name");
            }

            if (link.Secrets.Names.IsEmpty && link.Secrets.Selector is null && link.Secrets.Types.IsEmpty)
            {
                context.Report(DiagnosticSeverity.Error, path + ".secrets", "link-unbounded",
                    "name the Secrets to link: give 'names', a 'selector', or 'types' (for example kubernetes.io/dockerconfigjson)");
            }

            foreach (string name in link.Secrets.Names.Where(n => !KubernetesNames.IsDns1123Subdomain(n)))
            {
                context.Report(DiagnosticSeverity.Error, path + ".secrets.names", "bad-name", $"'{name}' is not a valid Secret name");
            }

            foreach (string type in link.Secrets.Types.Where(t => t is not ("kubernetes.io/dockerconfigjson" or "kubernetes.io/dockercfg")))
            {
                context.Report(DiagnosticSeverity.Warning, path + ".secrets.types", "not-a-pull-secret-type",
                    $"the kubelet ignores Secrets of type '{type}' for pulls; link kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg Secrets");
            }

            context.CheckSelector(link.Secrets.Selector, path + ".secrets.selector");
            context.CheckScope(link.Namespaces, path + ".namespaces");
        }
    }
}
