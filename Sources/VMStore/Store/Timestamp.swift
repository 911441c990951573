import Foundation

/// The text form of the times the store writes: ISO 8601 in UTC to the second
/// (`2026-01-04T10:11:12Z`), the form the deployer's rows already hold, which
/// sorts as text in time order.
public enum Timestamp {
    /// `date` as `yyyy-MM-ddTHH:mm:ssZ`, in UTC.
    ///
    /// Computed directly (days to civil date, H. Hinnant's algorithm,
    /// http://howardhinnant.github.io/date_algorithms.html#civil_from_days)
    /// rather than through a formatter: it runs on every write.
    public static func string(from date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        guard (0...9999).contains(year) else {
            return ISO8601DateFormatter().string(from: date)   // outside four-digit years: rare, slow path
        }

        // Written straight into the string's storage: no intermediate array.
        let fields: [(value: Int64, digits: Int, separator: UInt8)] = [
            (year, 4, UInt8(ascii: "-")), (month, 2, UInt8(ascii: "-")), (day, 2, UInt8(ascii: "T")),
            (secondOfDay / 3600, 2, UInt8(ascii: ":")), (secondOfDay % 3600 / 60, 2, UInt8(ascii: ":")),
            (secondOfDay % 60, 2, UInt8(ascii: "Z")),
        ]
        return String(unsafeUninitializedCapacity: 20) { buffer in
            var position = 0
            for field in fields {
                var rest = field.value
                for offset in stride(from: field.digits - 1, through: 0, by: -1) {
                    buffer[position + offset] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                position += field.digits
                buffer[position] = field.separator
                position += 1
            }
            return position
        }
    }
}
