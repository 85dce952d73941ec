"""People: accounts, roles, sign-up, log-in, profile, personal data export and deletion.

Other domains never need an account for a guest action; they hook into deletion and export through
`services.register_personal_data`.
"""
