import Foundation
import NIOCore
import UnibusControlPlane

extension ServePlan {
    /// The origins the control plane answers for: each `--public-url`, or by default
    /// `https://<bind>:<http-port>`, plus `https://localhost:<http-port>` on loopback. Bound to
    /// every address (0.0.0.0, ::) the default is the machine's host name; give `--public-url`
    /// for the names clients really use.
    static func publicOrigins(_ options: ServeOptions, hostName: String) throws -> [PublicOrigin] {
        var origins: [PublicOrigin] = []
        func add(_ origin: PublicOrigin) { if !origins.contains(origin) { origins.append(origin) } }
        for url in options.publicURLs {
            do { add(try PublicOrigin(parsing: url)) } catch { throw ServeError.invalid(error.description) }
        }
        if !origins.isEmpty { return origins }
        let port = options.httpPort
        if ["0.0.0.0", "::", "[::]"].contains(options.bind) {
            add(PublicOrigin(host: hostName, port: port))
        } else {
            add(PublicOrigin(host: options.bind.trimmingCharacters(in: ["[", "]"]), port: port))
        }
        if Loopback.isLoopback(options.bind) { add(PublicOrigin(host: "localhost", port: port)) }
        return origins
    }

    /// `ConnectionLimits.standard`, or the hidden test flag `--http-timeouts IDLE,HEAD,BODY` (seconds).
    static func connectionLimits(_ options: ServeOptions) throws -> ConnectionLimits {
        guard let text = options.httpTimeouts else { return .standard }
        let values = text.split(separator: ",").compactMap { Double($0) }.filter { $0 > 0 }
        guard values.count == 3 || values.count == 4 else {
            throw ServeError.invalid("--http-timeouts must be IDLE,HEAD,BODY in seconds[,MAX-CONNECTIONS], not '\(text)'")
        }
        let amounts = values.prefix(3).map { TimeAmount.milliseconds(Int64($0 * 1000)) }
        var limits = ConnectionLimits.standard
        (limits.idle, limits.head, limits.body) = (amounts[0], amounts[1], amounts[2])
        if values.count == 4 { limits.maxConnections = Int(values[3]) }
        return limits
    }
}
