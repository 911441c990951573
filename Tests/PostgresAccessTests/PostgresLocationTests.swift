import Foundation
import Testing

@testable import PostgresAccess

/// libpq's rules for reading a URL and filling in what it leaves out. Every test passes its own
/// environment, with HOME in a fresh folder, so nothing of the machine's leaks in.
@Suite struct PostgresLocationTests {
    let home = Environment.home

    @Test func readsEveryPartOfAURL() throws {
        let location = try PostgresLocation(
            url: "postgresql://deployer:s3cret@db.example.com:6543/fleet?sslmode=require&application_name=vmdb&pool_max=7&pool_min=2&connect_timeout=5",
            environment: home)
        #expect(location.endpoint == .tcp(host: "db.example.com", port: 6543))
        #expect(location.user == "deployer")
        #expect(location.passwordValue == "s3cret")
        #expect(location.passwordSource == .url)
        #expect(location.database == "fleet")
        #expect(location.sslMode == .require)
        #expect(location.sslRootCertificate == nil)
        #expect(location.applicationName == "vmdb")
        #expect(location.pool.maximumConnections == 7 && location.pool.minimumConnections == 2)
        #expect(location.connectTimeout == .seconds(5))
    }

    @Test func decodesPercentEscapesAndIPv6() throws {
        let location = try PostgresLocation(url: "postgres://us%40er:p%3Aw%2Fd@[::1]:5433/my%20db", environment: home)
        #expect(location.endpoint == .tcp(host: "::1", port: 5433))
        #expect(location.user == "us@er")
        #expect(location.passwordValue == "p:w/d")
        #expect(location.database == "my db")
        #expect(location.description == "postgres://us%40er:***@[::1]:5433/my%20db")
    }

    @Test func anUnescapedAtOrSlashInThePasswordStillParses() throws {
        let location = try PostgresLocation(url: "postgres://u:pa@ss/w@host/db", environment: home)
        #expect(location.passwordValue == "pa@ss/w")
        #expect(location.endpoint == .tcp(host: "host", port: 5432))
        #expect(location.database == "db")
    }

    @Test func libpqDefaultsFillInWhatTheURLLeavesOut() throws {
        let location = try PostgresLocation(url: "postgres://", environment: home.merging(["PGUSER": "ops"]) { $1 })
        #expect(location.endpoint == .socket(folder: "/var/run/postgresql", port: 5432))
        #expect(location.user == "ops")
        #expect(location.database == "ops")   // the database defaults to the user's name
        #expect(location.sslMode == .prefer)
        #expect(location.passwordSource == .none)
        #expect(location.description == "postgres://ops@:5432/ops?host=%2Fvar%2Frun%2Fpostgresql")
    }

    @Test func theEnvironmentFillsInButNeverOverridesTheURL() throws {
        let environment = home.merging([
            "PGHOST": "envhost", "PGPORT": "7000", "PGDATABASE": "envdb", "PGUSER": "envuser",
            "PGSSLMODE": "disable", "PGAPPNAME": "envapp",
        ]) { $1 }
        let bare = try PostgresLocation(url: "postgres://", environment: environment)
        #expect(bare.endpoint == .tcp(host: "envhost", port: 7000))
        #expect((bare.user, bare.database, bare.sslMode, bare.applicationName) == ("envuser", "envdb", .disable, "envapp"))
        let given = try PostgresLocation(url: "postgres://u@h:1/d?sslmode=require", environment: environment)
        #expect(given.endpoint == .tcp(host: "h", port: 1))
        #expect((given.user, given.database, given.sslMode) == ("u", "d", .require))
    }

    @Test func aSocketFolderAsHost() throws {
        let escaped = try PostgresLocation(url: "postgres://u@%2Ftmp%2Fpg:6000/d", environment: home)
        #expect(escaped.endpoint == .socket(folder: "/tmp/pg", port: 6000))
        let option = try PostgresLocation(url: "postgres://u@/d?host=/tmp/pg", environment: home)
        #expect(option.endpoint == .socket(folder: "/tmp/pg", port: 5432))
    }

    @Test func passwordPrecedenceIsURLThenPGPASSWORDThenThePasswordFile() throws {
        let folder = try Environment.folder()
        let file = folder.appending("/pgpass")
        try Environment.write("*:*:*:*:from-file\n", to: file, mode: 0o600)
        let environment = home.merging(["PGPASSWORD": "from-env", "PGPASSFILE": file]) { $1 }
        let fromURL = try PostgresLocation(url: "postgres://u:from-url@h/d", environment: environment)
        #expect(fromURL.passwordValue == "from-url" && fromURL.passwordSource == .url)
        let fromEnvironment = try PostgresLocation(url: "postgres://u@h/d", environment: environment)
        #expect(fromEnvironment.passwordValue == "from-env" && fromEnvironment.passwordSource == .environment)
        let fromFile = try PostgresLocation(url: "postgres://u@h/d", environment: home.merging(["PGPASSFILE": file]) { $1 })
        #expect(fromFile.passwordValue == "from-file" && fromFile.passwordSource == .passwordFile(path: file))
        // An empty password in the URL is a password (libpq: `user:@host`), not a gap to fill.
        let empty = try PostgresLocation(url: "postgres://u:@h/d", environment: environment)
        #expect(empty.passwordValue == "" && empty.passwordSource == .url)
    }

    @Test func sslModesAndTheirCA() throws {
        let full = try PostgresLocation(url: "postgres://u@h/d?sslmode=verify-full&sslrootcert=/etc/ca.pem", environment: home)
        #expect(full.sslMode == .verifyFull && full.sslRootCertificate == "/etc/ca.pem")
        let defaultCA = try PostgresLocation(url: "postgres://u@h/d?sslmode=verify-ca", environment: home)
        #expect(defaultCA.sslRootCertificate == home["HOME"]! + "/.postgresql/root.crt")
        let preferIgnoresCA = try PostgresLocation(url: "postgres://u@h/d?sslrootcert=/etc/ca.pem", environment: home)
        #expect(preferIgnoresCA.sslMode == .prefer && preferIgnoresCA.sslRootCertificate == nil)
        let requireWithCA = try PostgresLocation(url: "postgres://u@h/d?sslmode=require&sslrootcert=system", environment: home)
        #expect(requireWithCA.sslRootCertificate == "system")
    }

    @Test(arguments: [
        ("mysql://u@h/d", "is not a PostgreSQL URL"),
        ("db.sqlite", "is not a PostgreSQL URL"),
        ("postgres://u@h:port/d", "port=port is not valid; expected a whole number from 1 to 65535"),
        ("postgres://u@h:70000/d", "port=70000 is not valid"),
        ("postgres://u@h1,h2/d", "several hosts are not supported"),
        ("postgres://u@[::1/d", "no closing ']'"),
        ("postgres://u@h/d%zz", "the database name has a bad %-escape"),
        ("postgres://u@h/d?sslmode=maybe", "sslmode=maybe is not valid; expected disable, prefer, require, verify-ca, verify-full"),
        ("postgres://u@h/d?sslmode=allow", "sslmode=allow is not valid"),
        ("postgres://u@h/d?colour=blue", "unknown option 'colour'"),
        ("postgres://u@h/d?pool_max=0", "pool_max=0 is not valid"),
        ("postgres://u@h/d?pool_max=2&pool_min=3", "pool_min=3 is not valid; expected no more than pool_max (2)"),
        ("postgres://u@h/d?sslmode", "the option 'sslmode' has no '=value'"),
    ])
    func anUnreadableURLIsATypedErrorNamingWhatIsWrong(url: String, expected: String) throws {
        let error = try #require(throws: PostgresLocationError.self) { try PostgresLocation(url: url, environment: home) }
        #expect(error.description.contains(expected), "\(error)")
    }
}
