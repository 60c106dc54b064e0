public import UnibusProcess

extension Command {
    /// Runs the command and returns its stdout.
    /// - Throws: ``FixtureError`` with the command and its stderr if it does not exit 0.
    @discardableResult
    public func succeed(input: String? = nil) async throws -> String {
        let result = try await output(input: input)
        guard result.succeeded else {
            throw FixtureError("\(self) ended with \(result.status):\n\(result.stderr)\(result.stdout)")
        }
        return result.stdout
    }
}
