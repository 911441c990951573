import Foundation
import Testing

@testable import PostgresAccess

/// libpq's ~/.pgpass: format, wildcards, escapes, first match wins, and refused when others may read it.
@Suite struct PasswordFileTests {
    func lookup(_ text: String, mode: Int = 0o600, host: String = "db", port: Int = 5432, database: String = "fleet",
                user: String = "deployer") throws -> PasswordFile.Lookup {
        let path = try Environment.folder() + "/pgpass"
        try Environment.write(text, to: path, mode: mode)
        return PasswordFile(path: path).password(host: host, port: port, database: database, user: user)
    }

    @Test func theFirstMatchingLineWins() throws {
        let text = """
            # comments and lines that do not match are skipped
            other:5432:fleet:deployer:wrong-host
            db:6000:fleet:deployer:wrong-port
            db:5432:fleet:deployer:right
            *:*:*:*:too-late
            """
        #expect(try lookup(text) == .found("right"))
    }

    @Test func wildcardsMatchAnything() throws {
        #expect(try lookup("*:*:fleet:*:any-host") == .found("any-host"))
        #expect(try lookup("*:*:other:*:x") == .notFound)
    }

    @Test func escapedColonsAndBackslashes() throws {
        // A host with a colon (an IPv6 address) and a password with both.
        #expect(try lookup(#"\:\:1:5432:fleet:deployer:p\:w\\d"#, host: "::1") == .found(#"p:w\d"#))
        #expect(PasswordFile.fields(of: #"a\:b:c:d:e:pass:with:colons"#) == ["a:b", "c", "d", "e", "pass:with:colons"])
    }

    @Test func aFileOthersMayReadIsIgnoredWithLibpqsWarning() throws {
        for mode in [0o640, 0o604] {
            guard case .ignored(let warning) = try lookup("*:*:*:*:secret", mode: mode) else {
                Issue.record("mode \(String(mode, radix: 8)) was not refused")
                continue
            }
            #expect(warning.contains("has group or world access; permissions should be u=rw (0600) or less"))
            #expect(!warning.contains("secret"))
        }
    }

    @Test func noFileIsNotAWarning() {
        #expect(PasswordFile(path: "/no/such/pgpass").password(host: "h", port: 1, database: "d", user: "u") == .notFound)
    }

    @Test func aLocationReportsTheIgnoredFile() throws {
        let path = try Environment.folder() + "/pgpass"
        try Environment.write("*:*:*:*:secret\n", to: path, mode: 0o644)
        let location = try PostgresLocation(url: "postgres://u@h/d", environment: Environment.home.merging(["PGPASSFILE": path]) { $1 })
        #expect(location.passwordValue == nil && location.passwordSource == .none)
        #expect(location.warnings.count == 1 && location.warnings[0].contains(path))
    }

    @Test func theDefaultFileIsHomesPgpassAndASocketMatchesAsLocalhost() throws {
        let home = try Environment.folder()
        try Environment.write("localhost:5432:d:u:via-socket\n", to: home + "/.pgpass", mode: 0o600)
        let location = try PostgresLocation(url: "postgres://u@/d", environment: ["HOME": home])
        #expect(location.endpoint == .socket(folder: "/var/run/postgresql", port: 5432))
        #expect(location.passwordValue == "via-socket" && location.passwordSource == .passwordFile(path: home + "/.pgpass"))
    }
}
