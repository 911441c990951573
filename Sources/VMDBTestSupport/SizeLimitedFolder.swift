import Foundation

/// A folder on its own size-limited tmpfs, to make a disk fill up for real
/// (ENOSPC from the kernel, not a simulated error). Needs root and a kernel
/// that lets this process mount; ``isAvailable`` says whether it can, so
/// tests skip with that reason instead of failing where it cannot.
public final class SizeLimitedFolder: @unchecked Sendable {
    // @unchecked: immutable after init; the filler file is only made and removed by the owning test.

    public let path: String
    private let parent: TemporaryDirectory
    private var mounted = true

    /// Whether a tmpfs can be mounted here (probed once by mounting a tiny one).
    public static let isAvailable: Bool = {
        guard getuid() == 0, let probe = try? TemporaryDirectory("mount-probe") else { return false }
        let folder = probe.file("probe")
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        guard SystemTool.run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", folder]) == 0 else { return false }
        _ = SystemTool.run("/bin/umount", ["-l", folder])
        return true
    }()

    public static let unavailableReason = "needs root and permission to mount a tmpfs (mount -t tmpfs -o size=… tmpfs DIR); not available here"

    /// Mounts a tmpfs of `bytes` (rounded up to pages) on a new folder.
    public init(bytes: Int64, label: String = "full-disk") throws {
        parent = try TemporaryDirectory(label)
        path = parent.file("disk")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        guard SystemTool.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes),mode=0700", "tmpfs", path]) == 0 else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
    }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Bytes free on the filesystem.
    public var freeBytes: Int64 {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return 0 }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }

    /// Takes all free space but `leaving` bytes with a filler file, as another process would.
    public func fill(leaving: Int64 = 0) {
        let size = max(0, freeBytes - leaving)
        let fd = open(file("filler"), O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        if posix_fallocate(fd, 0, off_t(size)) != 0 {
            // Fall back to writing zeros until the kernel says no.
            let chunk = [UInt8](repeating: 0, count: 1 << 16)
            while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        }
        close(fd)
    }

    /// Frees the space the filler took.
    public func release() { unlink(file("filler")) }

    /// Remounts the filesystem read-only (or back to read-write).
    public func remount(readOnly: Bool) -> Bool {
        SystemTool.run("/bin/mount", ["-o", "remount,\(readOnly ? "ro" : "rw")", path]) == 0
    }

    public func unmount() {
        guard mounted else { return }
        mounted = SystemTool.run("/bin/umount", ["-l", path]) != 0
    }

    deinit { unmount() }
}
