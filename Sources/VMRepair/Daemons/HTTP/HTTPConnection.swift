import Foundation

/// One blocking stream connection to a daemon, bounded by a deadline.
///
/// Deliberately blocking: repair runs on its caller's thread (the CLI's main
/// thread), so no task of the cooperative pool ever waits on a socket and no
/// thread waits on a task. Every wait is a `poll` bounded by what is left of
/// the deadline, so a silent daemon costs at most its timeout.
final class HTTPConnection {
    private let descriptor: Int32
    private let deadline: DispatchTime

    /// Connects to a Unix-domain socket.
    convenience init(unixSocket path: String, deadline: DispatchTime) throws(HTTPFailure) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            throw .cannotConnect("the socket path is longer than a Unix socket address allows (\(capacity - 1) bytes); use a shorter path or a symlink")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        try self.init(family: AF_UNIX, deadline: deadline) { descriptor in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, length) }
            }
        }
    }

    /// Connects over TCP to the first address of `host` that accepts.
    static func tcp(host: String, port: UInt16, deadline: DispatchTime) throws(HTTPFailure) -> HTTPConnection {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(bare, String(port), &hints, &list)
        defer { if list != nil { freeaddrinfo(list) } }
        guard status == 0 else { throw .cannotConnect("cannot resolve host \(bare): \(String(cString: gai_strerror(status)))") }
        var lastFailure = HTTPFailure.cannotConnect("host \(bare) has no address")
        var entry = list
        while let info = entry?.pointee {
            entry = info.ai_next
            guard let address = info.ai_addr else { continue }
            do {
                return try HTTPConnection(family: info.ai_family, deadline: deadline) { connect($0, address, info.ai_addrlen) }
            } catch {
                lastFailure = error
                if error == .deadlineExceeded { break }
            }
        }
        throw lastFailure
    }

    private init(family: Int32, deadline: DispatchTime, connecting: (Int32) -> Int32) throws(HTTPFailure) {
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw .cannotConnect(Self.describe(errno)) }
        self.descriptor = descriptor
        self.deadline = deadline
        if connecting(descriptor) != 0 {
            guard errno == EINPROGRESS else { throw .cannotConnect(Self.describe(errno)) }
            try wait(for: Int16(POLLOUT))
            var failure: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &length)
            guard failure == 0 else { throw .cannotConnect(Self.describe(failure)) }
        }
    }

    deinit { close(descriptor) }

    /// Sends all of `bytes`.
    func send(_ bytes: [UInt8]) throws(HTTPFailure) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count > 0 { sent += count; continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                try wait(for: Int16(POLLOUT))
                continue
            }
            // The daemon closed its end (EPIPE, ECONNRESET) before reading the request.
            throw .closedEarly
        }
    }

    /// The next bytes the peer sent, or nil once it has closed the connection.
    func receive() throws(HTTPFailure) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 { return Array(buffer[..<count]) }
            if count == 0 { return nil }
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                try wait(for: Int16(POLLIN))
                continue
            }
            if errno == ECONNRESET { return nil }
            throw .io("receive failed (\(Self.describe(errno)))")
        }
    }

    /// Waits until the socket is ready for `events`, or throws once the deadline passes.
    private func wait(for events: Int16) throws(HTTPFailure) {
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline.uptimeNanoseconds else { throw .deadlineExceeded }
            let milliseconds = Int32(min((deadline.uptimeNanoseconds - now + 999_999) / 1_000_000, UInt64(Int32.max)))
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&entry, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw .io("poll failed (\(Self.describe(errno)))") }
        }
    }

    private static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}
