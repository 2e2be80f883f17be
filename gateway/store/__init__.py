"""State backends behind one Protocol: memory (tests), SQLite (default), Redis later (replicas)."""
