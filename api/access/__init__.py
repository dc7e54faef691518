"""Who may do what, and the record of it: roles and permissions (rules), passwords, access tokens, users, and the
audit log written for every write, every read by an auditor and every refusal.

    rules      roles, permissions, what is audited, the scope of a user
    passwords  argon2id hashes
    tokens     signed access tokens and refresh tokens
    users      adding and changing users
    audit      the entry a request fills, and the middleware that writes it
    routes/    /auth, /users, /audit
"""
