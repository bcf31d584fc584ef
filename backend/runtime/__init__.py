"""The assembly: the long-lived resources (database engine, Redis, PDF workers, push) built
from settings, the background jobs runner with every job kind, and the MSSP simulator mounted
in development."""
