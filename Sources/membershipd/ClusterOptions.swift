import Foundation
import UnibusCore
import UnibusSupervisor

/// The cluster half of the serve flags: routes between nodes, with their own CA and password.
enum ClusterPlan {
    /// nil when no cluster flag is given (a single node).
    /// - Throws: `ServeError.invalid` for half-given or malformed cluster flags.
    static func make(_ o: ServeOptions) throws -> NatsServerSettings.Cluster? {
        let given = [o.clusterName, o.routes, o.routeTLSCert, o.routeTLSKey, o.routeTLSCA, o.routePassFile].compactMap { $0 }
        guard !given.isEmpty else { return nil }
        guard let name = o.clusterName, let routes = o.routes else {
            throw ServeError.invalid("a cluster needs --cluster-name and --routes (and --route-tls-cert/key/ca, --route-pass-file)")
        }
        guard name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != 0x22 && $0 != 0x5c }) else {
            throw ServeError.invalid("--cluster-name '\(name)' must be printable without spaces or quotes")
        }
        let password = try o.routePassFile.map { path in
            String(decoding: try SecureFile.readSecret(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let password,
            password.isEmpty
                || !password.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != 0x22 && $0 != 0x5c && $0 != 0x40 && $0 != 0x3a && $0 != 0x2f })
        {
            throw ServeError.invalid("\(o.routePassFile!) must hold one password of printable characters without spaces, quotes, '@', ':' or '/'")
        }
        let urls = try routes.split(separator: ",").map { raw -> String in
            let url = raw.trimmingCharacters(in: .whitespaces)
            guard let parsed = URL(string: url), parsed.scheme == "nats-route" || parsed.scheme == "nats", let host = parsed.host, parsed.port != nil
            else { throw ServeError.invalid("route '\(url)' must look like nats-route://HOST:PORT") }
            guard let password else { return url }
            return "nats-route://route:\(password)@\(host):\(parsed.port!)"
        }
        var tls: NatsServerSettings.TLSFiles?
        let routeTLS = [o.routeTLSCert, o.routeTLSKey, o.routeTLSCA].compactMap { $0 }
        if routeTLS.count == 3, let cert = o.routeTLSCert, let key = o.routeTLSKey, let ca = o.routeTLSCA {
            let fix = "PEM files from the route CA (cluster/generate-cluster-certs.sh or `membershipd certs cluster`)"
            try OperatorFile.certificate(cert, flag: "--route-tls-cert", fix: "this node's route certificate (\(fix))")
            try OperatorFile.privateKey(key, flag: "--route-tls-key", fix: "the route certificate's key (\(fix))")
            try OperatorFile.certificate(ca, flag: "--route-tls-ca", fix: "the route CA's certificate (\(fix))")
            tls = .init(cert: ServePlan.absolute(cert), key: ServePlan.absolute(key), ca: ServePlan.absolute(ca))
        } else if !routeTLS.isEmpty {
            throw ServeError.invalid("--route-tls-cert, --route-tls-key and --route-tls-ca go together")
        } else if !Loopback.isLoopback(o.bind) {
            throw ServeError.invalid("routes off loopback need --route-tls-cert, --route-tls-key and --route-tls-ca (their own CA; see cluster/)")
        }
        return .init(name: name, port: o.clusterPort, routes: urls, tls: tls, password: password)
    }
}
