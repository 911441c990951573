import Foundation

/// UTC with milliseconds (`2026-12-03T10:51:13.123Z`): what the migration history,
/// the repair audit rows, lock notes and backup names are stamped with. (The store's
/// own rows use `VMStore.Timestamp`, to the second, as the deployer's rows do.)
package enum UTCTimestamp {
    package static func now() -> String { string(from: Date()) }

    package static func string(from date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
