/// What this build of vmdb is. `VERSION` at the package root is the one source of the version;
/// the commit is the checkout's, read when the package is built (Plugins/BuildInfoPlugin).
public enum BuildInfo {
    /// The release version, e.g. `0.1.0`.
    public static var version: String { generatedVersion }

    /// The short commit hash the binary was built from; `-dirty` when tracked files differed from
    /// it, `unknown` when it was built outside a git checkout.
    public static var commit: String { generatedCommit }
}
