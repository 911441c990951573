import Foundation
import PackagePlugin

/// Generates `BuildInfo+Generated.swift` before every build: the version from `VERSION` at the
/// package root and the commit from `git rev-parse --short HEAD` (with `-dirty` when tracked files
/// differ from it, `unknown` outside a git checkout of this package).
///
/// A prebuild command runs on every `swift build` / `swift test`, so a new commit is always seen;
/// it costs one `git rev-parse` and one `git diff`. The file is rewritten only when its text
/// changes, so an unchanged commit recompiles nothing.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("generated")
        return [
            .prebuildCommand(
                displayName: "vmdb build info (VERSION, git commit)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", Self.script, "build-info", context.package.directoryURL.path, output.path],
                outputFilesDirectory: output)
        ]
    }

    /// `$1` the package root, `$2` the output folder.
    static let script = #"""
        set -eu
        root=$1 out=$2
        version=$(tr -d ' \t\r\n' < "$root/VERSION")
        case $version in
            '' | *[!0-9A-Za-z.+-]*) echo "error: $root/VERSION must hold one version such as 1.2.3, not '$version'" >&2; exit 1 ;;
        esac
        commit=unknown
        # Only this package's own checkout counts, never a repository it happens to sit inside.
        if command -v git >/dev/null 2>&1 \
            && top=$(git -C "$root" rev-parse --show-toplevel 2>/dev/null) \
            && [ "$(cd "$top" && pwd -P)" = "$(cd "$root" && pwd -P)" ] \
            && head=$(git -C "$root" rev-parse --short HEAD 2>/dev/null); then
            commit=$head
            git -C "$root" diff --quiet HEAD -- 2>/dev/null || commit="$head-dirty"
        fi
        mkdir -p "$out"
        file="$out/BuildInfo+Generated.swift"
        cat > "$file.new" <<SWIFT
        // Generated before each build by Plugins/BuildInfoPlugin. Do not edit.
        extension BuildInfo {
            static let generatedVersion = "$version"
            static let generatedCommit = "$commit"
        }
        SWIFT
        if cmp -s "$file.new" "$file"; then rm -f "$file.new"; else mv -f "$file.new" "$file"; fi
        """#
}
