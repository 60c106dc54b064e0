import Foundation
import Hummingbird
import UnibusCore

/// A user as the API shows it: the record plus its nkey.
struct UserView: Encodable {
    let user: User
    func encode(to encoder: any Encoder) throws {
        try user.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(user.nkey, forKey: .nkey)
    }
    enum Key: String, CodingKey { case nkey }
}

extension ControlPlane {
    func addUserRoutes(to router: Router<ControlPlaneContext>) {
        router.get("/v1/me") { _, context in try JSONResponse.make(UserView(user: try context.requireCaller())) }

        router.get("/v1/users") { _, context in
            try Self.requireAdmin(context)
            return try JSONResponse.make(try await store.users().map(UserView.init))
        }

        router.post("/v1/users") { _, context in
            try Self.requireAdmin(context)
            let body = try JSONBody(context.body, allowed: ["sign_pub", "handle", "role"])
            let user = User(signPub: try SignPub(hex: body.string("sign_pub")), handle: try Handle(body.string("handle")),
                            role: try Role(parsing: body.string("role")), createdAt: now())
            try await store.addUser(user)
            try await applyACL()
            return try JSONResponse.make(UserView(user: user), status: .created)
        }

        router.post("/v1/users/:signPub/revoke") { _, context in
            try Self.requireAdmin(context)
            let key = try SignPub(hex: context.parameters.require("signPub"))
            guard let user = try await store.user(key) else { throw StoreError.userNotFound(key.hex) }
            guard user.status == .active else { throw APIError(.conflict, "conflict", "user \(user.handle) is already revoked") }
            let revoked = try await store.revokeUser(key, at: now())
            try await applyACL()
            return try JSONResponse.make(UserView(user: revoked))
        }
    }

    static func requireAdmin(_ context: ControlPlaneContext) throws {
        guard try context.requireCaller().role == .admin else { throw APIError.forbidden("only admins may manage users") }
    }
}
