"""Who is asking, and may they: passkeys, sessions, invitations, permissions, API tokens.

Domain modules here never see a Request; `backend/web/views/` and the two middlewares in
`identity/csrf.py` and `identity/session_middleware.py` are the edge.
"""
