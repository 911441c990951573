import MigrationKit

extension OnlineFigures {
    /// What an online run cost the deployer and where its time went, indented under
    /// the migration's line in `migrate`'s report and the dry run's.
    var reportLines: [String] {
        var lines = [
            String(format: "  %d write transactions, the longest %.1f ms (%@), %.2f s in all; cut-over %.1f ms after %d retr%@",
                   transactions, longestTransactionMilliseconds, longestTransaction, totalTransactionMilliseconds / 1000,
                   cutOverMilliseconds, cutOverRetries, cutOverRetries == 1 ? "y" : "ies"),
            String(format: "  copied %d rows, recomputed %d the deployer changed; copy %.2f s, verify %.2f s, emptying the old tables %.2f s; WAL at most %.1f MiB",
                   rowsCopied, changesApplied, copySeconds, verifySeconds, drainSeconds, Double(peakWALBytes) / 1_048_576),
        ]
        if overLimitRollbacks > 0 {
            lines.append("  \(overLimitRollbacks) transaction(s) ran past the lock limit and were rolled back, then redone smaller (or the cut-over tried again)")
        }
        if fileGrowthBytes > 0 {
            lines.append(String(format: "  the file grew by %.1f MiB: the old tables' pages are free and SQLite reuses them; to give them back to the disk, run VACUUM in a quiet window (it holds the write lock while it rewrites the file)", Double(fileGrowthBytes) / 1_048_576))
        }
        return lines
    }
}

extension MigrationResult {
    /// The longest the deployer could have waited on this migration: its longest write
    /// transaction online, the whole write lock offline.
    var longestLockMilliseconds: Double {
        verification.online?.longestTransactionMilliseconds ?? lockSeconds * 1000
    }
}
