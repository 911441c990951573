import Testing
@testable import MigrationKitPostgres

/// A migration block becomes statements PostgreSQL runs one at a time, each with its
/// `:name` parameters bound as `$n`: never a `;` or `:` inside a string, a quoted
/// name, a dollar-quoted body, a comment, or a `::` cast.
@Suite struct PostgresScriptTests {
    @Test func statementsSplitWhereTheLexerWould() {
        let script = PostgresScript("""
            -- a comment; not a statement
            UPDATE vms SET name = 'a;b''c' WHERE network = :default_network;
            /* nested /* ; */ still comment; */ SELECT "odd;name"::text, E'it\\'s;' FROM t;
            CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN NEW.x := 1; RETURN NEW; END $body$ LANGUAGE plpgsql;
            SELECT $$a;b$$, x::bigint FROM t WHERE a = :a AND b = :b AND c = :a
            """)
        #expect(script.statements.count == 4, "\(script.statements.map(\.sql))")
        #expect(script.statements[0] == .init(sql: "-- a comment; not a statement\nUPDATE vms SET name = 'a;b''c' WHERE network = $1", parameters: ["default_network"]))
        #expect(script.statements[1].sql.hasSuffix("SELECT \"odd;name\"::text, E'it\\'s;' FROM t") && script.statements[1].parameters.isEmpty,
                "\(script.statements[1].sql)")
        #expect(script.statements[2].sql.contains("NEW.x := 1; RETURN NEW;") && script.statements[2].parameters.isEmpty)
        #expect(script.statements[3] == .init(sql: "SELECT $$a;b$$, x::bigint FROM t WHERE a = $1 AND b = $2 AND c = $1", parameters: ["a", "b"]))
    }

    @Test func onlyCommentsIsNoStatement() {
        #expect(PostgresScript("-- nothing here;\n  \n-- nor here").statements.isEmpty)
    }

    @Test func anAbsentParameterBindsNullAsOnSQLite() {
        let query = PostgresScript.query(PostgresScript("SELECT :given, :absent").statements[0], values: ["given": "dev"])
        #expect(query.sql == "SELECT $1, $2" && query.binds.count == 2)
    }
}
