import PostgresTestSupport

/// A database of one test's own on the test server (PostgresTestSupport's, shared by every test target).
typealias ScratchDatabase = PostgresScratchDatabase
