"""Web Push: VAPID keys, subscriptions, the transactional outbox, and the sender that its
`push.send` jobs run (pywebpush)."""
