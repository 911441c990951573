// Repair: see issue 5.
