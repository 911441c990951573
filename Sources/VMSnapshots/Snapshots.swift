// Snapshots: see issue 6.
