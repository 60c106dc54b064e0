import Foundation
import Hummingbird
import UnibusCore

extension ControlPlane {
    func addUserRoutes(to router: Router<ControlPlaneContext>) {
        router.get("/v1/me") { _, context in try JSONResponse.make(UserPresentation(try context.requireCaller())) }

        router.get("/v1/users") { _, context in
            try Self.requireAdmin(context)
            return try JSONResponse.make(try await store.users().map(UserPresentation.init))
        }

        router.post("/v1/users") { _, context in
            try Self.requireAdmin(context)
            let body = try JSONBody(context.body, allowed: ["sign_pub", "handle", "role"])
            let user = User(
                signPub: try SignPub(registering: body.string("sign_pub")), handle: try Handle(body.string("handle")),
                role: try Role(parsing: body.string("role")), createdAt: now())
            do {
                try await store.addUser(user)
            } catch StoreError.alreadyRegistered(_, .active) {
                // A retry (say after an ambiguous 503) finds the user exactly as asked: 200 with
                // the stored record, once the ACL is in force. Anything else stays a conflict.
                guard let stored = try await store.user(user.signPub), stored.status == .active,
                    stored.handle == user.handle, stored.role == user.role
                else {
                    throw APIError(
                        .conflict, "conflict",
                        "sign-pub \(user.signPub.hex) is already registered as another user; nothing was changed")
                }
                try await applyACL(context)
                return try JSONResponse.make(UserPresentation(stored))
            }
            try await applyACL(context)
            return try JSONResponse.make(UserPresentation(user), status: .created)
        }

        router.post("/v1/users/:signPub/revoke") { _, context in
            try Self.requireAdmin(context)
            let key = try SignPub(hex: context.parameters.require("signPub"))
            guard let user = try await store.user(key) else { throw StoreError.userNotFound(key.hex) }
            guard user.status == .active else { throw APIError(.conflict, "conflict", "user \(user.handle) is already revoked") }
            if user.role == .admin, try await store.users().filter({ $0.role == .admin && $0.status == .active }).count <= 1 {
                // As a room keeps its last owner: without an admin nobody could manage users over the API.
                throw APIError(
                    .conflict, "conflict",
                    "\(user.handle) is the last active admin; add another admin first (nothing was changed; `membershipd user revoke` on a node still can)"
                )
            }
            let revoked = try await store.revokeUser(key, at: now())
            try await applyACL(context)
            return try JSONResponse.make(UserPresentation(revoked))
        }
    }

    static func requireAdmin(_ context: ControlPlaneContext) throws {
        guard try context.requireCaller().role == .admin else { throw APIError.forbidden("only admins may manage users") }
    }
}
