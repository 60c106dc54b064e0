import Foundation
import UnibusCore

#if canImport(Glibc)
    import Glibc
#endif

extension ServePlan {
    /// Refuses, before nats-server or the control plane start, a port something else already
    /// holds, naming the flag, the address and the fix (rather than nats-server's last log line
    /// or a socket error number).
    /// - Throws: `ServeError.invalid`.
    static func refusePortsInUse(_ o: ServeOptions, monitor: Bool) throws {
        var ports = [("--nats-port", o.natsPort), ("--http-port", o.httpPort)]
        if o.clusterName != nil || o.routes != nil { ports.append(("--cluster-port", o.clusterPort)) }
        for (flag, port) in ports where !PortProbe.isFree(host: o.bind, port: port) {
            throw ServeError.invalid(
                "\(flag) \(port): \(o.bind):\(port) is already in use (another membershipd serve or another program): "
                    + "stop it or choose another \(flag)")
        }
        let monitorPort = Int(NatsServerSettings.monitorAddress.split(separator: ":").last ?? "") ?? 8222
        if monitor, !PortProbe.isFree(host: "127.0.0.1", port: monitorPort) {
            throw ServeError.invalid(
                "UNIBUS_NATS_MONITOR: the monitoring endpoint \(NatsServerSettings.monitorAddress) is already in use (another node "
                    + "with monitoring on?): stop it, or unset UNIBUS_NATS_MONITOR and UNIBUS_NATS_DEBUG for this node")
        }
    }
}

/// Whether a TCP port can be bound, asked the way a server binds it (SO_REUSEADDR, so a port
/// only in TIME_WAIT counts as free).
enum PortProbe {
    static func isFree(host: String, port: Int) -> Bool {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let name = host.trimmingCharacters(in: ["[", "]"])
        guard getaddrinfo(name, String(port), &hints, &list) == 0, let first = list else { return true }  // nats-server says why
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd >= 0 {
                var one: Int32 = 1
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                let bound = bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen)
                let reason = errno
                close(fd)
                if bound != 0 && reason == EADDRINUSE { return false }
            }
            entry = info.pointee.ai_next
        }
        return true
    }
}
