import Foundation
import Testing

@testable import PostgresAccess

/// A password given in a URL never shows: not in a location's description, debugDescription, dump or
/// mirror, and not in any error about the URL, parseable or not.
@Suite struct PasswordMaskingTests {
    static let secret = "Sw0rdf1sh-73"

    /// Every way the password can sit in a URL, each with a fault after it or none.
    static let urls: [String] = {
        let shapes = [
            "postgres://u:\(secret)@h/d", "postgresql://u:\(secret)@h:5432/d?sslmode=require",
            "postgres://u:\(secret.prefix(4))@\(secret.dropFirst(4))@h/d",   // an unescaped '@' inside it
            "postgres://u:\(secret.prefix(4))/\(secret.dropFirst(4))@h/d",   // an unescaped '/' inside it
            "postgres://u@h/d?password=\(secret)", "postgres://u@h/d?sslmode=disable&password=\(secret)",
        ]
        let faults = ["", "&colour=blue", "&sslmode=maybe", "&pool_max=0", "&connect_timeout=x", "&sslmode"]
        var urls: [String] = []
        for shape in shapes {
            for fault in faults { urls.append(shape + (shape.contains("?") ? fault : fault.isEmpty ? "" : "?" + fault.dropFirst())) }
        }
        urls += [
            "mysql://u:\(secret)@h/d", "postgres://u:\(secret)@h:port/d", "postgres://u:\(secret)@h1,h2/d",
            "postgres://u:\(secret)@[::1/d", "postgres://u:\(secret)@h/d%zz", "postgres://u:\(secret)@h/d?sslmode=verify-full&sslrootcert=/no/ca.pem",
        ]
        return urls
    }()

    @Test(arguments: urls)
    func neverShown(url: String) throws {
        var shown: [String] = []
        do {
            let location = try PostgresLocation(url: url, environment: Environment.home)
            // (The split shapes hold the secret with an '@' or '/' in its middle.)
            let read = location.passwordValue?.filter { $0 != "@" && $0 != "/" }
            #expect(read == Self.secret, "the password should have been read from \(url)")
            var dumped = ""
            dump(location, to: &dumped)
            shown += [location.description, location.debugDescription, String(reflecting: location), "\(location)", dumped]
            shown += location.warnings
            do { _ = try location.clientConfiguration() } catch { shown += ["\(error)", String(reflecting: error)] }
        } catch {
            shown += ["\(error)", String(reflecting: error)]
            #expect(String(describing: error).contains("***"), "the error should name the URL, masked: \(error)")
        }
        for text in shown {
            // Either half: the URLs that split the password around '@' or '/' must hide both.
            #expect(!text.contains(Self.secret.prefix(4)) && !text.contains(Self.secret.dropFirst(4)), "shows the password: \(text)")
        }
    }

    @Test func theMaskedURLKeepsEverythingButThePassword() {
        #expect(PostgresURL.masked("postgres://u:pw@h:1/d?sslmode=require&password=pw") == "postgres://u:***@h:1/d?sslmode=require&password=***")
        #expect(PostgresURL.masked("postgres://u@h/d") == "postgres://u@h/d")
    }
}
