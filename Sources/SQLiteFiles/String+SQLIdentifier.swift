extension String {
    /// This string as a double-quoted SQL identifier, an embedded `"` doubled.
    /// (GRDB's `quotedDatabaseIdentifier` does not double it: a table named `odd "name"` broke the SQL.)
    package var quotedIdentifier: String { "\"" + replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
