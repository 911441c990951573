import Testing

extension Tag {
    /// Kill sweeps, concurrent writers and full disks: the minutes of the suite.
    /// `scripts/test-fast` runs everything else; CI runs them all.
    @Tag static var slow: Self
}
