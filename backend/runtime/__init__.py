"""The assembly: the long-lived resources (database engine, Redis, PDF workers, push,
scheduler) built from settings, and the MSSP simulator mounted in development."""
