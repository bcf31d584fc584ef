"""The foundations every layer uses: settings, clock, database, models, errors, audit,
blobs, translations, idempotency, live events, the embedded Redis, migrations."""
