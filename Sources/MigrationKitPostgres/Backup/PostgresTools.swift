import Foundation
import MigrationKit
import PostgresAccess

/// PostgreSQL's own client tools (Debian's postgresql-client-15): pg_dump reads one consistent
/// snapshot in its custom format, pg_restore reads that format back, psql runs the result in one
/// transaction. Each runs with the location in its environment, never on its command line.
struct PostgresTools: Sendable {
    /// The Debian package that ships the tools, for the error that says to install it.
    static let package = "postgresql-client-15"

    let pgDump: String
    let pgRestore: String
    let psql: String

    /// The newest of Debian's versioned folders (`/usr/lib/postgresql/N/bin`), then `PATH`.
    /// - Parameter folders: where to look, for tests; nil: those.
    static func locate(in folders: [String]? = nil) throws -> PostgresTools {
        let searched = folders ?? defaultFolders()
        func find(_ tool: String) throws -> String {
            for folder in searched {
                let path = (folder as NSString).appendingPathComponent(tool)
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
            throw MigrationError(.unusableFile, "\(tool), PostgreSQL's own client tool, is in none of \(searched.joined(separator: ", ")): install Debian's \(package) (apt-get install \(package)). Nothing was changed", path: tool)
        }
        return PostgresTools(pgDump: try find("pg_dump"), pgRestore: try find("pg_restore"), psql: try find("psql"))
    }

    private static func defaultFolders() -> [String] {
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted(by: >)
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        return versions.map { "/usr/lib/postgresql/\($0)/bin" } + path
    }

    /// Runs `tool` with `arguments` and the location's libpq environment (and `extra`); its standard output goes
    /// to `output` (a file), or nowhere. Throws, naming the tool and what it said (password masked),
    /// when it exits other than 0.
    func run(_ tool: String, _ arguments: [String], at location: PostgresLocation, environment extra: [String: String] = [:],
             output: FileHandle? = nil, doing activity: String) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.environment = location.libpqEnvironment().merging(extra) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output ?? FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        let name = (tool as NSString).lastPathComponent
        do {
            try process.run()
        } catch {
            throw MigrationError(.unusableFile, "cannot start \(tool) (\(error.localizedDescription)): reinstall Debian's \(Self.package). Nothing was changed", path: tool)
        }
        // Its messages are read as they come (a full pipe would stop it), off the cooperative threads.
        let running = process
        let reading = errors.fileHandleForReading
        let (status, said): (Int32, String) = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let text = String(decoding: reading.readDataToEndOfFile(), as: UTF8.self)
                running.waitUntilExit()
                continuation.resume(returning: (running.terminationStatus, text))
            }
        }
        guard status == 0 else {
            let message = location.masking(said.trimmingCharacters(in: .whitespacesAndNewlines)).split(separator: "\n").prefix(5).joined(separator: "; ")
            throw MigrationError(.ioError, "\(activity) on \(location) failed: \(name) exited with \(status) (\(message.isEmpty ? "no message" : message))")
        }
    }
}
