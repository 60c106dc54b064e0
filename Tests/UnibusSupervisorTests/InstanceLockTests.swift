import Foundation
import Testing
import UnibusSupervisor
import UnibusTestSupport

@Suite("one instance per directory")
struct InstanceLockTests {
    @Test func aSecondLockOnTheSameDirectoryIsRefusedAndNamesTheHolder() throws {
        let dir = TempDirectory("unibus-test-lock")
        let first = try InstanceLock(directory: dir.path)
        #expect(throws: InstanceLockError.held(first.path, pid: getpid())) { try InstanceLock(directory: dir.path) }
        withExtendedLifetime(first) {}
    }

    @Test func theLockIsFreeAgainOnceReleased() throws {
        let dir = TempDirectory("unibus-test-lock")
        do { _ = try InstanceLock(directory: dir.path) }
        _ = try InstanceLock(directory: dir.path)
    }
}
