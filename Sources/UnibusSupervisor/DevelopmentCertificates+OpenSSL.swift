import Foundation

extension DevelopmentCertificates {
    /// Runs the openssl CLI: no shell, stdin from /dev/null, arguments are paths and options only.
    struct OpenSSL {
        let executable: URL

        /// `name` is a path when it contains "/", else it is looked up on PATH, then /usr/bin.
        init(locating name: String) throws {
            let fileManager = FileManager.default
            var candidates: [String] = []
            if name.contains("/") {
                candidates = [name]
            } else {
                let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
                candidates = path.split(separator: ":").map { "\($0)/\(name)" } + ["/usr/bin/\(name)"]
            }
            guard
                let found = candidates.first(where: { candidate in
                    var isDirectory: ObjCBool = false
                    return fileManager.fileExists(atPath: candidate, isDirectory: &isDirectory)
                        && !isDirectory.boolValue && fileManager.isExecutableFile(atPath: candidate)
                })
            else {
                throw DevelopmentCertificatesError.opensslNotFound(name)
            }
            executable = URL(fileURLWithPath: found)
        }

        /// Runs and throws `opensslFailed` unless it exits 0.
        func run(_ arguments: [String]) throws {
            let result = try execute(arguments)
            guard result.status == 0 else {
                throw DevelopmentCertificatesError.opensslFailed(
                    command: arguments.first ?? "", status: result.status, stderr: result.stderr)
            }
        }

        /// True when it exits 0.
        func succeeds(_ arguments: [String]) throws -> Bool {
            try execute(arguments).status == 0
        }

        /// Its standard output when it exits 0, else nil.
        func output(_ arguments: [String]) throws -> String? {
            let result = try execute(arguments)
            return result.status == 0 ? result.stdout : nil
        }

        private func execute(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            process.standardInput = FileHandle.nullDevice
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            do {
                try process.run()
            } catch {
                throw DevelopmentCertificatesError.opensslFailed(
                    command: arguments.first ?? "", status: -1,
                    stderr: "cannot run \(executable.path): \((error as NSError).localizedDescription)")
            }
            // openssl's output here is a few hundred bytes, well under a pipe's buffer, so reading
            // one stream to its end before the other cannot block the child.
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let status = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
            return (status, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
        }
    }
}
