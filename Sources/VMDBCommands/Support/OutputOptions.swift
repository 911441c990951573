import ArgumentParser
import Foundation
import MigrationKit
import SQLiteFiles

/// How results are written.
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json, markdown
}

/// `--format` and `--progress`, shared by every command.
struct OutputOptions: ParsableArguments {
    @Option(help: "Output format: text (default), json (one document on standard output), or markdown (where a report has one).")
    var format: OutputFormat = .text

    @Flag(help: "Show progress on standard error even when it is not a terminal, or in JSON mode.")
    var progress = false

    /// Progress goes to standard error: on a terminal by default, never in JSON unless asked.
    var progressHandler: ProgressHandler? {
        let console = Console.current
        let show = progress || (console.errorIsTerminal && format != .json)
        return show ? ProgressRenderer(console: console).handler : nil
    }

    /// Writes `value` as JSON, or `text()` otherwise.
    func emit<T: Encodable>(_ value: T, text: () -> String, markdown: (() -> String)? = nil) throws {
        switch format {
        case .json: Console.current.out(try JSON.encode(value) + "\n")
        case .markdown: Console.current.out(markdown?() ?? text())
        case .text: Console.current.out(text())
        }
    }
}

enum JSON {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
