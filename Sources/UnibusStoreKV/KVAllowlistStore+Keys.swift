public import Foundation
public import UnibusCore
import UnibusNats

extension KVAllowlistStore {
    public func putRoomKey(_ key: RoomKey) async throws {
        try await requireRoom(key.room)
        guard try await members.fetch(KVKey.member(key.room, key.recipient)) != nil else {
            throw StoreError.notAMember(room: key.room.value, signPub: key.recipient.hex)
        }
        _ = try await roomKeys.write(KVKey.roomKey(key.room, key.recipient, key.epoch), value: KVCodec.encode(key))
    }

    public func roomKeys(room: RoomID, recipient: SignPub) async throws -> [RoomKey] {
        try await roomKeys.list(matching: KVKey.roomKeysOf(room, recipient)).map(KVCodec.roomKey).sorted { $0.epoch < $1.epoch }
    }

    /// A create-only write of `<nonce>`: the first consumer anywhere in the cluster wins, every
    /// later one gets `false` until the bucket's max age (the signature window) expires it.
    /// Nonces are never deleted: a delete marker would let a create succeed again.
    /// - Throws: `StoreError.unavailable` when the write cannot be confirmed (no quorum,
    ///   timeout): the caller fails closed.
    public func consumeNonce(_ nonce: NonceValue, expiresAt: Date, now: Date) async throws -> Bool {
        do throws(NatsKVError) {
            _ = try await nonces.create(KVKey.nonce(nonce), value: KVCodec.encode(NonceRecord(expiresAt: expiresAt)))
            return true
        } catch .wrongLastSequence {
            return false
        } catch {
            throw StoreError.unavailable("cannot confirm nonce: \(error)")
        }
    }
}
