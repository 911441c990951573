import Foundation
import GRDB
import Testing
import VMDBTestSupport
import VMStore

/// The code of the article `UsingTheStore.md` (VMStore.docc), compiled and run here.
///
/// Each region between `// article: NAME` and `// end article` is one of the
/// article's Swift code blocks, character for character once its indentation is
/// removed: `theArticleShowsExactlyTheCodeTestedHere` fails when they drift apart.
@Suite struct ArticleExampleTests {
    static let articlePath = (Fixtures.repositoryRoot as NSString).appendingPathComponent("Sources/VMStore/VMStore.docc/UsingTheStore.md")
    /// The regions, in the order the article shows them.
    static let order = ["open-by-path", "open-on-pool", "provision-and-look-up", "errors", "opening-errors", "async", "intents"]


    @Test func openingByPathAndProvisioning() throws {
        let directory = try TemporaryDirectory("article")
        let path = try Fixtures.database(version: 3, in: directory)   // a deployer's database, as `vmdb init` makes it
        // article: open-by-path
        let store = try VMStore(path: path)
        defer { try? store.close() }
        // end article
        // article: provision-and-look-up
        let web = try VMIdentity(network: "main", vmID: "005o")
        try store.provision(NewVM(identity: web, name: "web", nodeID: 11, status: .running))
        // The same id on another network is another VM.
        try store.provision(NewVM(identity: try VMIdentity(network: "qa", vmID: "005o"), name: "smoke", status: .running))

        let record = try store.vm(web)                        // by the pair: that VM, or nil
        try store.recordStatus(.stopped, for: web.reference)  // every write is keyed on the pair
        let both = try store.vms(withID: "005o")              // one per network: main, then qa
        // end article
        #expect(record?.name == "web")
        #expect(both.map(\.network) == ["main", "qa"])
        #expect(try store.vm(web)?.status == .stopped)

        var said: [String] = []
        func print(_ line: String) { said.append(line) }
        // article: errors
        do {
            _ = try store.vm(VMReference(vmID: "005o"))       // the id alone: two networks have it
        } catch let error as StoreError where error.code == .ambiguous {
            print("say which network: \(error.networks.joined(separator: ", "))")
        }
        do {
            try store.provision(NewVM(identity: web, name: "web again"))
        } catch let error as StoreError where error.code == .alreadyRecorded {
            print("\(error.identity!) is recorded already; nothing was written")
        }
        // end article
        #expect(said == ["say which network: main, qa", "main/005o is recorded already; nothing was written"])
    }

    @Test func openingOnTheDeployersPool() throws {
        let directory = try TemporaryDirectory("article")
        let path = try Fixtures.database(version: 3, in: directory)   // a deployer's database, as `vmdb init` makes it
        // article: open-on-pool
        let pool = try DatabasePool(path: path)
        let store = try VMStore(writer: pool)
        // end article
        try store.provision(NewVM(identity: try VMIdentity(network: "main", vmID: "005o"), name: "web"))
        #expect(try pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM vms") } == 1)
    }

    @Test func theErrorsOfOpening() throws {
        let directory = try TemporaryDirectory("article")
        let path = try Fixtures.database(version: 1, in: directory)
        var said: [String] = []
        func print(_ line: String) { said.append(line) }
        func open(_ path: String) throws -> VMStore? {
            // article: opening-errors
            do {
                return try VMStore(path: path)
            } catch let error as StoreError {
                switch error.code {
                case .schemaTooOld, .notManaged:
                    print("migrate the database first (vmdb migrate): \(error)")
                case .databaseNewer:
                    print("a later migration does not keep this store working: upgrade the deployer")
                case .busy:
                    print("another connection held the database: retry")
                default:
                    throw error   // unusableDatabase, unsupportedJournalMode, databaseFailure: the message says what to do
                }
                return nil
            }
            // end article
        }
        #expect(try open(path) == nil)
        #expect(said.count == 1 && said[0].hasPrefix("migrate the database first"))
    }

    @Test func asyncForms() async throws {
        let directory = try TemporaryDirectory("article")
        let path = try Fixtures.database(version: 3, in: directory)   // a deployer's database, as `vmdb init` makes it
        let store = try VMStore(path: path)
        // article: async
        let gateway = try VMIdentity(network: "dev", vmID: "0102")
        try await store.provision(NewVM(identity: gateway, name: "gateway", status: .running))
        let running = try await store.list(network: "dev", status: .running)
        // end article
        #expect(running.map(\.identity) == [gateway])
        try store.close()
    }

    /// A stand-in for the daemon's `deploy_vm`: it creates the VM and says its id.
    struct Daemon {
        func deployVM(name: String, requestID: String, cpu: Int64?) throws -> String { "c1" }
    }

    @Test func provisioningThroughIntents() throws {
        let directory = try TemporaryDirectory("article")
        let path = try Fixtures.database(version: 4, in: directory)
        let store = try VMStore(path: path)
        defer { try? store.close() }
        let daemon = Daemon()
        // article: intents
        let request = try ProvisionRequest(network: "main", requestID: "deploy-7f3a", name: "web-2", cpu: 2, memoryMB: 4096)
        try store.beginProvision(request, owner: "deployer-1", lease: 300)        // 1. committed before the call
        let vmID = try daemon.deployVM(name: request.name, requestID: request.requestID, cpu: request.cpu)   // 2.
        let vm = NewVM(identity: try VMIdentity(network: "main", vmID: vmID), name: request.name, cpu: 2, memoryMB: 4096)
        try store.completeProvision(requestID: request.requestID, vm: vm)        // 3. the VM and the close, together
        // end article
        #expect(try store.provisionIntent(network: "main", requestID: "deploy-7f3a")?.state == .recorded)
        #expect(try store.vm(vm.identity) != nil)
    }

    @Test func theArticleShowsExactlyTheCodeTestedHere() throws {
        let article = try String(contentsOfFile: Self.articlePath, encoding: .utf8)
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        #expect(Self.codeBlocks(inArticle: article) == Self.order.map { Self.region($0, in: source) })
    }

    /// The article's ```swift blocks, in order.
    static func codeBlocks(inArticle text: String) -> [String] {
        var blocks: [String] = [], current: [String]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if current == nil, line.trimmingCharacters(in: .whitespaces) == "```swift" { current = [] }
            else if current != nil, line.trimmingCharacters(in: .whitespaces) == "```" { blocks.append(current!.joined(separator: "\n")); current = nil }
            else { current?.append(line) }
        }
        return blocks
    }

    /// The lines between `// article: name` and `// end article`, without their common indentation.
    static func region(_ name: String, in source: String) -> String {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "// article: \(name)" }),
              let end = lines[start...].firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "// end article" })
        else { return "(no region \(name))" }
        let body = Array(lines[(start + 1)..<end])
        let indent = body.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { $0.prefix { $0 == " " }.count }.min() ?? 0
        return body.map { $0.count >= indent ? String($0.dropFirst(indent)) : "" }.joined(separator: "\n")
    }
}
