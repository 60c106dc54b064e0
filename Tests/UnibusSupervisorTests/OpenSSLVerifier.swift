import UnibusProcess

/// Runs `openssl <arguments>`: an independent check of what the Swift PKI wrote.
/// - Returns: the exit code and stdout.
func openssl(_ arguments: [String]) async throws -> (status: Int32, stdout: String) {
    let result = try await Command("/usr/bin/env", ["openssl"] + arguments).output()
    return (result.status.code, result.stdout)
}
