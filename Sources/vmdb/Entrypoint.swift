import VMDBCommands

@main
enum Entrypoint {
    static func main() async {
        await VMDB.main()
    }
}
