"""The `eoffice` command: `main` (serve, migrate, demo, worker, admin, users) and
`signing` (pdf sign/verify, archive renew)."""
