"""The account pool: which account serves a request, and what an outcome does to an account.

Speaks no HTTP and knows no Flow wire shapes; outcomes arrive as ``Outcome`` values through a
lease, and ``policy`` (pure functions) turns them into cooldowns and states.
"""
