import ArgumentParser

/// `membershipd serve`: run the service (the default subcommand).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the service (default).")

    func run() async throws {
        throw ServeError.notYet
    }
}

enum ServeError: Error, CustomStringConvertible {
    case notYet
    var description: String { "serve is not implemented yet" }
}
