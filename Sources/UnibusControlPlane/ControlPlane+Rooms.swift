import Foundation
import Hummingbird
import UnibusCore

extension ControlPlane {
    func addRoomRoutes(to router: Router<ControlPlaneContext>) {
        router.post("/v1/rooms") { _, context in
            let caller = try context.requireCaller()
            let body = try JSONBody(context.body, allowed: ["id"])
            let room = Room(id: try RoomID(body.string("id")), createdBy: caller.signPub, createdAt: now())
            do {
                try await store.createRoom(room)
            } catch StoreError.roomExists(_) {
                // A retry by its creator (say after an ambiguous 503): 200 with the stored room,
                // once the ACL is in force (a KV room whose owner write failed has been completed
                // by the store). Another creator's room, or one its creator has left, stays a conflict.
                guard let stored = try await store.room(room.id), stored.createdBy == caller.signPub,
                    try await store.members(of: room.id).contains(where: { $0.signPub == caller.signPub })
                else {
                    throw StoreError.roomExists(room.id.value)
                }
                try await applyACL(context)
                return try JSONResponse.make(RoomPresentation(stored))
            }
            try await applyACL(context)
            return try JSONResponse.make(RoomPresentation(room), status: .created)
        }

        router.get("/v1/rooms") { _, context in
            let caller = try context.requireCaller()
            var rooms: [Room] = []
            for id in try await store.rooms(ofMember: caller.signPub) {
                if let room = try await store.room(id) { rooms.append(room) }
            }
            return try JSONResponse.make(rooms.map(RoomPresentation.init))
        }

        router.get("/v1/rooms/:room/members") { _, context in
            let (room, caller) = try await roomAndCaller(context)
            let members = try await store.members(of: room)
            guard caller.role == .admin || members.contains(where: { $0.signPub == caller.signPub }) else {
                throw APIError.forbidden("only members of \(room) may see its members")
            }
            return try JSONResponse.make(members.map(MemberPresentation.init))
        }

        router.put("/v1/rooms/:room/members/:signPub") { _, context in
            let (room, caller) = try await roomAndCaller(context)
            try await requireManager(of: room, caller)
            let key = try SignPub(hex: context.parameters.require("signPub"))
            let body = try JSONBody(context.body, allowed: ["role"])
            let member = Member(room: room, signPub: key, role: try MemberRole(parsing: body.string("role")), addedAt: now())
            try await store.putMember(member)
            try await applyACL(context)
            return try JSONResponse.make(MemberPresentation(member))
        }

        router.delete("/v1/rooms/:room/members/:signPub") { _, context in
            let (room, caller) = try await roomAndCaller(context)
            let key = try SignPub(hex: context.parameters.require("signPub"))
            if key != caller.signPub { try await requireManager(of: room, caller) }
            try await store.removeMember(room: room, signPub: key)
            try await applyACL(context)
            return Response(status: .noContent)
        }

        router.put("/v1/rooms/:room/keys/:signPub") { _, context in
            let (room, caller) = try await roomAndCaller(context)
            try await requireManager(of: room, caller)
            let recipient = try SignPub(hex: context.parameters.require("signPub"))
            let body = try JSONBody(context.body, allowed: ["epoch", "wrapped"])
            guard let wrapped = Data(base64Encoded: try body.string("wrapped")) else { throw APIError.invalid("wrapped must be base64") }
            let key = try RoomKey(room: room, recipient: recipient, epoch: body.integer("epoch"), wrapped: wrapped, createdAt: now())
            try await store.putRoomKey(key)
            return try JSONResponse.make(RoomKeyPresentation(key))
        }

        router.get("/v1/rooms/:room/keys/me") { _, context in
            let (room, caller) = try await roomAndCaller(context)
            guard try await store.members(of: room).contains(where: { $0.signPub == caller.signPub }) else {
                throw APIError.forbidden("only members of \(room) have keys in it")
            }
            return try JSONResponse.make(try await store.roomKeys(room: room, recipient: caller.signPub).map(RoomKeyPresentation.init))
        }
    }

    /// The room named in the path (which must exist) and the caller.
    func roomAndCaller(_ context: ControlPlaneContext) async throws -> (RoomID, User) {
        let caller = try context.requireCaller()
        let room = try RoomID(context.parameters.require("room"))
        guard try await store.room(room) != nil else { throw StoreError.roomNotFound(room.value) }
        return (room, caller)
    }

    /// Owners of the room and admins manage its members and keys.
    func requireManager(of room: RoomID, _ caller: User) async throws {
        if caller.role == .admin { return }
        let owner = try await store.members(of: room).contains { $0.signPub == caller.signPub && $0.role == .owner }
        guard owner else { throw APIError.forbidden("only owners of \(room) and admins may manage its members and keys") }
    }
}
