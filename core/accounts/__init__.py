"""Who is asking: accounts and sessions, credentials, login and registration throttles, invites, per-user preferences."""
