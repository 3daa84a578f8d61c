"""People: teams, users, roles and memberships."""
