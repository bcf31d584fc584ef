"""Web Push: VAPID keys, subscriptions, the transactional outbox, the Redis-stream relay and the
worker that sends with pywebpush."""
