// The VM store: see issue 3.
