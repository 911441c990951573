import Foundation
import Testing

@testable import PostgresAccess

/// PGSERVICE and pg_service.conf: a service fills in what the URL leaves out, before the environment.
@Suite struct ServiceFileTests {
    let services = """
        # the deployer's services
        [fleet]
        host=db.example.com
        port = 6543
        dbname=fleet
        user=deployer
        password=from-service
        sslmode=verify-full
        sslrootcert=/etc/fleet-ca.pem

        [other]
        host=elsewhere
        """

    func environment(_ extra: [String: String] = [:]) throws -> [String: String] {
        let path = try Environment.folder() + "/services.conf"
        try Environment.write(services, to: path, mode: 0o600)
        return Environment.home.merging(["PGSERVICEFILE": path]) { $1 }.merging(extra) { $1 }
    }

    @Test func aServiceGivesEverything() throws {
        let location = try PostgresLocation(url: "postgres://?service=fleet", environment: try environment())
        #expect(location.endpoint == .tcp(host: "db.example.com", port: 6543))
        #expect((location.user, location.database, location.sslMode) == ("deployer", "fleet", .verifyFull))
        #expect(location.sslRootCertificate == "/etc/fleet-ca.pem")
        #expect(location.passwordValue == "from-service" && location.passwordSource == .service)
    }

    @Test func theURLOverridesTheServiceAndTheServiceOverridesTheEnvironment() throws {
        let location = try PostgresLocation(
            url: "postgres://ops@:7000/", environment: try environment(["PGSERVICE": "fleet", "PGHOST": "envhost", "PGAPPNAME": "env"]))
        #expect(location.endpoint == .tcp(host: "db.example.com", port: 7000))
        #expect(location.user == "ops")
        #expect(location.applicationName == "env")   // the service does not set it: the environment does
    }

    @Test func theHomeFileIsReadWithoutPGSERVICEFILE() throws {
        let home = try Environment.folder()
        try Environment.write(services, to: home + "/.pg_service.conf", mode: 0o600)
        let location = try PostgresLocation(url: "postgres://?service=other", environment: ["HOME": home, "PGUSER": "u"])
        #expect(location.endpoint == .tcp(host: "elsewhere", port: 5432))
    }

    @Test func anUnknownServiceSaysWhereItLooked() throws {
        let environment = try environment()
        let error = try #require(throws: PostgresLocationError.self) {
            try PostgresLocation(url: "postgres://?service=nope", environment: environment)
        }
        guard case .serviceNotFound(let service, let searched) = error else { Issue.record("\(error)"); return }
        #expect(service == "nope" && searched.first == environment["PGSERVICEFILE"])
    }

    @Test func aBadLineNamesTheFileAndTheLine() throws {
        let path = try Environment.folder() + "/bad.conf"
        try Environment.write("[fleet]\nhost=h\nnonsense\n", to: path, mode: 0o600)
        let error = try #require(throws: PostgresLocationError.self) {
            try PostgresLocation(url: "postgres://?service=fleet", environment: Environment.home.merging(["PGSERVICEFILE": path]) { $1 })
        }
        #expect(error == .badServiceFile(path: path, line: 3, problem: "expected keyword=value"))
    }
}
