internal import CNats
import Foundation

extension NatsConnectOptions {
    /// Builds a `natsOptions` (the caller destroys it) wired to the connection callbacks behind
    /// `closure`. Runs on the blocking queue: loading certificates reads files.
    func makeNatsOptions(closure: UnsafeMutableRawPointer) throws(NatsError) -> OpaquePointer {
        guard !serverURLs.isEmpty else {
            throw .invalidArgument("connect", "no server URL given; expected at least one nats:// or tls:// URL")
        }
        var created: OpaquePointer?
        try NatsError.check(natsOptions_Create(&created), "create connection options")
        guard let opts = created else {
            throw NatsError(
                operation: "create connection options", status: NATS_NO_MEMORY.rawValue, detail: "no options")
        }
        do {
            try configure(opts, closure: closure)
        } catch {
            natsOptions_Destroy(opts)
            throw error
        }
        return opts
    }

    private func configure(_ opts: OpaquePointer, closure: UnsafeMutableRawPointer) throws(NatsError) {
        try setServers(opts)
        if let name { try NatsError.check(natsOptions_SetName(opts, name), "set connection name") }
        try NatsError.check(natsOptions_SetTimeout(opts, max(1, timeout.natsMilliseconds)), "set connect timeout")
        try NatsError.check(natsOptions_SetAllowReconnect(opts, allowReconnect), "set allow-reconnect")
        try NatsError.check(natsOptions_SetMaxReconnect(opts, Int32(clamping: maxReconnect)), "set max reconnect")
        try NatsError.check(
            natsOptions_SetReconnectWait(opts, max(0, reconnectWait.natsMilliseconds)), "set reconnect wait")
        if sendAsap { try NatsError.check(natsOptions_SetSendAsap(opts, true), "set send-asap") }
        if let customInboxPrefix {
            try NatsError.check(
                natsOptions_SetCustomInboxPrefix(opts, customInboxPrefix),
                "set custom inbox prefix '\(customInboxPrefix)'")
        }
        if let tls { try configureTLS(opts, tls) }
        if let nkey {
            try NatsError.check(
                natsOptions_SetNKey(opts, nkey.publicKey, natsSignNonce, closure), "set nkey \(nkey.publicKey)")
        }
        try NatsError.check(natsOptions_SetErrorHandler(opts, natsOnAsyncError, closure), "set error handler")
        try NatsError.check(
            natsOptions_SetDisconnectedCB(opts, natsOnDisconnected, closure), "set disconnected handler")
        try NatsError.check(natsOptions_SetReconnectedCB(opts, natsOnReconnected, closure), "set reconnected handler")
        try NatsError.check(natsOptions_SetClosedCB(opts, natsOnClosed, closure), "set closed handler")
    }

    /// `natsOptions_SetServers` (not `SetURL`, which does not split a comma-separated list).
    private func setServers(_ opts: OpaquePointer) throws(NatsError) {
        let copies = serverURLs.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        var pointers = copies.map { UnsafePointer($0) }
        let status = natsOptions_SetServers(opts, &pointers, Int32(pointers.count))
        try NatsError.check(status, "set servers \(serverList)")
    }

    private func configureTLS(_ opts: OpaquePointer, _ tls: NatsTLSFiles) throws(NatsError) {
        try NatsError.check(natsOptions_SetSecure(opts, true), "enable TLS")
        if let caFile = tls.caFile {
            try NatsError.check(
                natsOptions_LoadCATrustedCertificates(opts, caFile), "load trusted CA certificates from \(caFile)")
        }
        switch (tls.certFile, tls.keyFile) {
        case (nil, nil):
            break
        case (let certFile?, let keyFile?):
            try NatsError.check(
                natsOptions_LoadCertificatesChain(opts, certFile, keyFile),
                "load client certificate \(certFile) with key \(keyFile)")
        default:
            throw .invalidArgument("configure TLS", "a client certificate needs both certFile and keyFile")
        }
    }
}
