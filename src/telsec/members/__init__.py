"""Members and access: organisations, users, roles, API tokens, grants and audit.

Owns who may do what on the node: the member organisations and their users,
the API tokens (only their SHA-256 is stored), the read/write grants per
collection, authentication of a request's credentials into a
:class:`~telsec.members.auth.Principal`, and the append-only audit log of access
to AMBER, AMBER+STRICT and RED objects.  It knows nothing of HTTP.
"""
