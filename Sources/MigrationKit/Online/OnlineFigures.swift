/// What an online migration cost the deployer, recorded in the history with
/// the verification: every write transaction vmdb held, and the cut-over.
public struct OnlineFigures: Sendable, Hashable, Codable {
    /// Write transactions vmdb ran (prepare, copy chunks, change batches, cut-over tries, drain batches).
    public var transactions = 0
    /// The longest of them, BEGIN IMMEDIATE to COMMIT: the longest the deployer could have waited on vmdb.
    public var longestTransactionMilliseconds = 0.0
    /// What that longest transaction was doing.
    public var longestTransaction = ""
    public var totalTransactionMilliseconds = 0.0
    /// Cut-over attempts given up (too slow, or the lock not had in time) before the one that committed.
    public var cutOverRetries = 0
    /// The cut-over transaction that committed.
    public var cutOverMilliseconds = 0.0
    /// Rows copied by chunk, and rows recomputed because the deployer changed them.
    public var rowsCopied = 0
    public var changesApplied = 0
    public var copySeconds = 0.0
    public var verifySeconds = 0.0
    public var drainSeconds = 0.0
    /// From the start of the run that cut over to the cut-over's commit: from then on the
    /// deployer writes the new version (what is left is emptying the old tables).
    public var secondsToCutOver = 0.0
    /// How much larger the file is after the migration (the old tables' pages are free, not returned).
    public var fileGrowthBytes: Int64 = 0
    /// The largest the WAL grew during the run.
    public var peakWALBytes: Int64 = 0
    /// Times this migration was picked up again after an interrupted run.
    public var resumes = 0
    /// Transactions that ran past the lock limit and were rolled back (then redone
    /// smaller, or the cut-over tried again).
    public var overLimitRollbacks = 0
    /// The catch-up after the copy: change-log entries not yet applied when last measured,
    /// the most there were, how fast a batch applies them (entries per second of lock
    /// held), and how long catching up took in all.
    public var pendingChanges = 0
    public var peakPendingChanges = 0
    public var changesPerLockSecond = 0.0
    public var catchUpSeconds = 0.0

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case transactions, longestTransactionMilliseconds, longestTransaction, totalTransactionMilliseconds, cutOverRetries,
             cutOverMilliseconds, rowsCopied, changesApplied, copySeconds, verifySeconds, drainSeconds, secondsToCutOver, fileGrowthBytes,
             peakWALBytes, resumes, overLimitRollbacks, pendingChanges, peakPendingChanges, changesPerLockSecond, catchUpSeconds
    }

    /// Reads what earlier builds wrote too: a figure they did not have is 0.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable & Numeric>(_ key: CodingKeys) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? 0 }
        transactions = try value(.transactions)
        longestTransactionMilliseconds = try value(.longestTransactionMilliseconds)
        longestTransaction = try c.decodeIfPresent(String.self, forKey: .longestTransaction) ?? ""
        totalTransactionMilliseconds = try value(.totalTransactionMilliseconds)
        cutOverRetries = try value(.cutOverRetries)
        cutOverMilliseconds = try value(.cutOverMilliseconds)
        rowsCopied = try value(.rowsCopied)
        changesApplied = try value(.changesApplied)
        copySeconds = try value(.copySeconds)
        verifySeconds = try value(.verifySeconds)
        drainSeconds = try value(.drainSeconds)
        secondsToCutOver = try value(.secondsToCutOver)
        fileGrowthBytes = try value(.fileGrowthBytes)
        peakWALBytes = try value(.peakWALBytes)
        resumes = try value(.resumes)
        overLimitRollbacks = try value(.overLimitRollbacks)
        pendingChanges = try value(.pendingChanges)
        peakPendingChanges = try value(.peakPendingChanges)
        changesPerLockSecond = try value(.changesPerLockSecond)
        catchUpSeconds = try value(.catchUpSeconds)
    }

    mutating func record(milliseconds: Double, doing activity: String) {
        transactions += 1
        totalTransactionMilliseconds += milliseconds
        if milliseconds > longestTransactionMilliseconds {
            longestTransactionMilliseconds = milliseconds
            longestTransaction = activity
        }
    }
}
